/**
 * What training does about a non-finite step (a NaN or infinite loss or gradient norm):
 *   a discarded step is a strike: the batch is skipped and the hidden state reset (the stepper has
 *     left the parameters and the optimiser untouched);
 *   NAN_STRIKES strikes in a row → roll back to the last good state (parameters, optimiser state,
 *     as of the last checkpoint) and halve the learning rate;
 *   more than MAX_ROLLBACKS roll-backs → the run has diverged and stops.
 * A finite step clears the strikes; a checkpoint makes its state the last good one.
 */
import type { OptimizerSnapshot } from '../nn/optimizer';

/** After this many consecutive non-finite steps, roll back to the last good state. */
export const NAN_STRIKES = 3;
/** After this many roll-backs, stop. */
export const MAX_ROLLBACKS = 4;

/** A state training can roll back to. */
export interface GoodState {
  params: Map<string, Float32Array>;
  optimizer: OptimizerSnapshot;
  step: number;
}

/** What to do about a non-finite step; `message` is the 'nan' event's action (not for 'diverged'). */
export type NanAction =
  | { kind: 'skip'; message: string }
  | { kind: 'roll back'; to: GoodState; message: string }
  | { kind: 'diverged'; message: string };

export class NanPolicy {
  private strikes = 0;
  private rollbacks = 0;

  constructor(private good: GoodState) {}

  /** The state a later roll-back returns to (after each checkpoint). */
  remember(good: GoodState): void {
    this.good = good;
  }

  /** A finite step: the strikes start again from zero. */
  finite(): void {
    this.strikes = 0;
  }

  /** A discarded step at `step`; `lossFinite`: the gradient, not the loss, was non-finite. */
  nonFinite(step: number, lossFinite: boolean): NanAction {
    this.strikes++;
    if (this.strikes < NAN_STRIKES) {
      return { kind: 'skip', message: `non-finite ${lossFinite ? 'gradient' : 'loss'} at step ${step}: batch skipped, hidden state reset` };
    }
    this.rollbacks++;
    if (this.rollbacks > MAX_ROLLBACKS) {
      return { kind: 'diverged', message: `the loss was NaN or infinite ${NAN_STRIKES} times in a row after ${MAX_ROLLBACKS} roll-backs` };
    }
    this.strikes = 0;
    return {
      kind: 'roll back',
      to: this.good,
      message: `${NAN_STRIKES} non-finite steps in a row: rolled back to the state of step ${this.good.step}, learning rate halved`,
    };
  }
}
