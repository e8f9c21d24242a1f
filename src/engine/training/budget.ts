/**
 * A run's budget: a number of steps or of minutes, counted over the whole run, resumes included, so a
 * run stopped and resumed ends where the uninterrupted one would, along the same learning-rate
 * schedule (optimizer.ts's learningRateAt takes the fraction from here).
 */
import type { TrainConfig } from '../nn/config';

export type Budget = Pick<TrainConfig, 'steps' | 'minutes'>;

/**
 * How far a run is through its budget, 0–1: the larger of steps/steps-budget and
 * seconds/minutes-budget (seconds trained over the whole run, resumes included); null without a budget.
 */
export function budgetFraction(cfg: Budget, step: number, seconds: number): number | null {
  const byStep = cfg.steps > 0 ? step / cfg.steps : null;
  const byTime = cfg.minutes > 0 ? seconds / (cfg.minutes * 60) : null;
  if (byStep === null && byTime === null) return null;
  return Math.min(1, Math.max(byStep ?? 0, byTime ?? 0));
}

/**
 * The budget to give a resumed run: a run stopped before the end of its budget continues to it; a
 * finished one (or one with nothing left) goes on for as long again as `more` says (steps or minutes).
 */
export function resumeBudget(
  run: { status: string; step: number; seconds: number },
  recorded: Budget,
  more: Budget,
): Budget {
  const fraction = budgetFraction(recorded, run.step, run.seconds);
  if (run.status !== 'finished' && fraction !== null && fraction < 1) return { steps: recorded.steps, minutes: recorded.minutes };
  return more.steps > 0 ? { steps: run.step + more.steps, minutes: 0 } : { steps: 0, minutes: run.seconds / 60 + more.minutes };
}
