/**
 * One optimiser step of a training run, behind one interface: the training loop hands a stepper a
 * truncated-BPTT batch and a learning rate and gets the step's loss and gradient norm back; the
 * stepper owns what a step changes besides the parameters — the optimiser state and the hidden state
 * carried from batch to batch — and exchanges both in the checkpoint formats (OptimizerSnapshot,
 * CarriedState).
 *
 * Two implement it:
 *   LocalStepper         forward/backward on this thread (CharRnn.run on the whole batch), below;
 *   DataParallelStepper  forward/backward over worker threads, one slice of the streams each
 *                        (dataParallel.ts); the same step within float rounding.
 *
 * A step (both):
 *   batch.reset → the carried state is zeroed first (a stream starts again at the corpus's start);
 *   loss L and gradient g of the batch from the carried state; ‖g‖ its global L2 norm;
 *   L and ‖g‖ finite → θ ← update(θ, g · clipScale(‖g‖, gradClip), lr), the carried state moves on;
 *   otherwise      → θ and the optimiser are untouched and the carried state is zeroed (ok: false).
 * The parameters live in the main-thread CharRnn: evaluation, sampling and checkpoints read it after
 * any step; a roll-back replaces them there (model.setParams) and restores the optimiser here.
 */
import { tidy } from '../runtime/backend';
import type { BpttBatch } from '../data/bptt';
import { CharRnn, disposeState, keepState, RecurrentState, stateFromArrays, stateToArrays } from '../nn/model';
import { clipScale, globalNorm, Optimizer, OptimizerSnapshot } from '../nn/optimizer';
import type { OptimizerKind } from '../nn/config';
import type { Random } from '../nn/random';
import { dropoutDraw } from '../nn/dropout';

export interface StepOutcome {
  /** Mean cross-entropy over the whole batch (nats per character). */
  loss: number;
  /** Global L2 norm of the batch's mean gradient, before clipping. */
  gradNorm: number;
  /** False when the loss or the gradient was NaN/Inf: nothing was updated and the carried state is zero. */
  ok: boolean;
}

/** The hidden state carried between batches as plain arrays (checkpoints store it). */
export interface CarriedState {
  /** Per layer, [B·H] row-major (row b = stream b). */
  h: Float32Array[];
  /** Per layer for the LSTM, else null. */
  c: (Float32Array | null)[];
}

export interface TrainingStepper {
  /** The backend the steps run on, as run.json reports it. */
  readonly description: string;
  /** `treatAsNonFinite` (fault injection for tests): handle this step as if its loss were NaN. */
  step(batch: BpttBatch, lr: number, treatAsNonFinite: boolean): Promise<StepOutcome>;
  optimizerSnapshot(): OptimizerSnapshot;
  restoreOptimizer(s: OptimizerSnapshot): void;
  stateArrays(): CarriedState;
  restoreState(a: CarriedState): void;
  dispose(): Promise<void>;
}

export interface LocalStepperOptions {
  batchSize: number;
  seqLength: number;
  /** Clip the gradient to this global L2 norm (0 = no clipping). */
  gradClip: number;
  /** A fresh optimiser of this kind, or the state to continue from (a checkpoint's). */
  optimizer: OptimizerKind | OptimizerSnapshot;
  /** The run's generator: each step's dropout key is drawn from it (nn/dropout.ts). */
  rng: Random;
  description: string;
}

/** Single-process stepping: CharRnn.run on the whole [T, B] batch, then Optimizer.apply. */
export class LocalStepper implements TrainingStepper {
  readonly description: string;
  private optimizer: Optimizer;
  private state: RecurrentState;

  constructor(
    private readonly model: CharRnn,
    private readonly opts: LocalStepperOptions,
  ) {
    this.description = opts.description;
    const o = opts.optimizer;
    this.optimizer = typeof o === 'string' ? new Optimizer(o) : Optimizer.fromSnapshot(o, this.shapes());
    this.state = model.zeroState(opts.batchSize);
  }

  async step(batch: BpttBatch, lr: number, treatAsNonFinite: boolean): Promise<StepOutcome> {
    return this.stepNow(batch, lr, treatAsNonFinite);
  }

  /** step(), synchronously (the bench's profile times it phase by phase: runtime/stepProfile.ts). */
  stepNow(batch: BpttBatch, lr: number, treatAsNonFinite = false): StepOutcome {
    const { batchSize: B, seqLength: T } = this.opts;
    if (batch.reset) this.resetState();
    const prev = this.state;
    const draw = this.model.config.dropout > 0 ? dropoutDraw(this.opts.rng, B) : undefined;
    const outcome = tidy(() => {
      const r = this.model.run(batch.inputs, batch.targets, T, B, prev, true, draw);
      const grads = r.grads!;
      const gradNorm = globalNorm(grads);
      let loss = r.loss.dataSync()[0];
      if (treatAsNonFinite) loss = NaN;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { ok: false as const, loss, gradNorm };
      const next = this.optimizer.apply(this.model.params, grads, lr, clipScale(gradNorm, this.opts.gradClip));
      return { ok: true as const, loss, gradNorm, next, state: keepState(r.state) };
    });
    if (!outcome.ok) {
      this.resetState();
      return outcome;
    }
    this.model.setParams(outcome.next);
    disposeState(prev);
    this.state = outcome.state;
    return { ok: true, loss: outcome.loss, gradNorm: outcome.gradNorm };
  }

  optimizerSnapshot(): OptimizerSnapshot {
    return this.optimizer.snapshot();
  }

  restoreOptimizer(s: OptimizerSnapshot): void {
    const next = Optimizer.fromSnapshot(s, this.shapes());
    this.optimizer.dispose();
    this.optimizer = next;
  }

  stateArrays(): CarriedState {
    return stateToArrays(this.state);
  }

  restoreState(a: CarriedState): void {
    const next = stateFromArrays(a, this.opts.batchSize, this.model.config.hidden);
    disposeState(this.state);
    this.state = next;
  }

  async dispose(): Promise<void> {
    disposeState(this.state);
    this.optimizer.dispose();
  }

  private resetState(): void {
    disposeState(this.state);
    this.state = this.model.zeroState(this.opts.batchSize);
  }

  private shapes(): Map<string, number[]> {
    return new Map(Array.from(this.model.params, ([k, t]) => [k, t.shape]));
  }
}
