/**
 * Truncated back-propagation through time batches, the char-rnn way.
 *
 * The encoded training text (N symbols) is cut into B contiguous streams of L = floor(N / B)
 * symbols each (the last N − B·L symbols are unused): stream b is symbols [b·L, (b+1)·L). Every
 * batch takes the next T inputs of every stream and, as targets, the same T positions shifted by
 * one, so batch k+1 of stream b continues exactly where batch k ended and the caller can carry the
 * hidden state from batch to batch. A stream of L symbols gives L − 1 (input, target) pairs, so an
 * epoch is floor((L − 1) / T) batches. When fewer than T + 1 symbols remain, the streams wrap to
 * their start: that batch has `reset` true (zero the carried state) and the epoch number goes up.
 * The very first batch has `reset` true too: `reset` is exactly "this batch starts at position 0".
 *
 * Layout is time-major, as the recurrence kernels want it: `inputs[t·B + b]` is the input of
 * stream b at step t.
 */

export class BpttError extends Error {
  override name = 'BpttError';
}

/** One batch of T steps of B streams. */
export interface BpttBatch {
  /** [T, B] time-major: inputs[t*B + b]. */
  inputs: Int32Array;
  /** [T, B] time-major: targets[t*B + b] is the symbol after inputs[t*B + b]. */
  targets: Int32Array;
  /** True when this batch starts the streams from the beginning (first batch, or after a wrap): zero the carried hidden state. */
  reset: boolean;
  /** 0-based epoch this batch belongs to. */
  epoch: number;
  /** Offset of this batch's first input within each stream. */
  position: number;
}

/** Where the batcher is: enough to resume a stopped run with exactly the same batches. */
export interface BpttState {
  /** Offset within each stream of the next batch's first input (wrapping is decided when `next()` is called). */
  position: number;
  /** Epoch of the last batch returned (0 before the first). */
  epoch: number;
}

export class TruncatedBptt {
  readonly batchSize: number;
  readonly seqLength: number;
  /** Symbols per stream, L = floor(N / B). */
  readonly streamLength: number;
  /** Batches in one pass over the streams: floor((L − 1) / T). */
  readonly batchesPerEpoch: number;
  private readonly stream: Int32Array;
  private position = 0;
  private epoch = 0;

  /** `stream` is the encoded training text; it is read, never copied or modified. */
  constructor(stream: Int32Array, batchSize: number, seqLength: number) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new BpttError(`The batch size must be a whole number of at least 1; got ${batchSize}.`);
    }
    if (!Number.isInteger(seqLength) || seqLength < 1) {
      throw new BpttError(`The sequence length must be a whole number of at least 1; got ${seqLength}.`);
    }
    const needed = batchSize * (seqLength + 1);
    if (stream.length < needed) {
      throw new BpttError(
        `The training text has ${stream.length} characters; one batch needs at least ` +
          `${batchSize}·(${seqLength}+1) = ${needed}. Use a smaller --batch or --seq, or a larger corpus.`,
      );
    }
    this.stream = stream;
    this.batchSize = batchSize;
    this.seqLength = seqLength;
    this.streamLength = Math.floor(stream.length / batchSize);
    this.batchesPerEpoch = Math.floor((this.streamLength - 1) / seqLength);
  }

  /** Input symbols per batch, T·B. */
  get charsPerBatch(): number {
    return this.seqLength * this.batchSize;
  }

  /** The next batch; wraps (reset, epoch + 1) when fewer than T + 1 symbols remain in the streams. */
  next(): BpttBatch {
    const T = this.seqLength;
    const B = this.batchSize;
    const L = this.streamLength;
    if (this.position + T + 1 > L) {
      this.position = 0;
      this.epoch++;
    }
    const p = this.position;
    const inputs = new Int32Array(T * B);
    const targets = new Int32Array(T * B);
    const data = this.stream;
    for (let b = 0; b < B; b++) {
      const start = b * L + p;
      for (let t = 0; t < T; t++) {
        inputs[t * B + b] = data[start + t];
        targets[t * B + b] = data[start + t + 1];
      }
    }
    this.position = p + T;
    return { inputs, targets, reset: p === 0, epoch: this.epoch, position: p };
  }

  state(): BpttState {
    return { position: this.position, epoch: this.epoch };
  }

  /** Continue from a `state()`; the following batches are exactly those that followed it. */
  restore(state: BpttState): void {
    const { position, epoch } = state ?? ({} as BpttState);
    if (!Number.isInteger(position) || position < 0 || !Number.isInteger(epoch) || epoch < 0) {
      throw new BpttError(
        `Cannot resume the batches: the saved position and epoch must be whole numbers ≥ 0; got position ${position}, epoch ${epoch}.`,
      );
    }
    if (position > this.streamLength) {
      throw new BpttError(
        `Cannot resume the batches: the saved position ${position} is beyond the stream length ${this.streamLength}. ` +
          'The training text or the batch size changed since the checkpoint; start a new run instead of resuming.',
      );
    }
    this.position = position;
    this.epoch = epoch;
  }
}

/** One evaluation window (B = 1): `inputs[t]` is followed by `targets[t]`. */
export interface SequentialWindow {
  /** Length ≤ T; a read-only view into the ids. */
  inputs: Int32Array;
  /** Same length as inputs: the ids one position later; a read-only view. */
  targets: Int32Array;
  /** Offset of inputs[0] in the ids. */
  position: number;
}

/**
 * Consecutive windows of at most T steps covering every (input, target) pair of `ids` once, in
 * order, for evaluation with the hidden state carried by the caller. Yields nothing when `ids`
 * has fewer than 2 symbols.
 */
export function* sequentialWindows(ids: Int32Array, T: number): Generator<SequentialWindow> {
  if (!Number.isInteger(T) || T < 1) {
    throw new BpttError(`The evaluation window length must be a whole number of at least 1; got ${T}.`);
  }
  const pairs = ids.length - 1;
  for (let start = 0; start < pairs; start += T) {
    const length = Math.min(T, pairs - start);
    yield {
      inputs: ids.subarray(start, start + length),
      targets: ids.subarray(start + 1, start + 1 + length),
      position: start,
    };
  }
}
