/**
 * Dropout masks drawn by counter (inverted dropout on the input of layers ≥ 2 and the output of the
 * top layer, as char-rnn): the keep/drop decision of unit j in row t·B + b of mask m in one step is a
 * hash of (the step's key, m, t·B + b, j), not the n-th draw of a sequential generator.
 *
 * So any slice of the streams draws its own rows' decisions, and they are the decisions the whole
 * batch draws: a data-parallel worker (training/dataParallel.ts) makes the masks of its streams
 * itself, in parallel with the others, and they are the single process's masks. The step's key is one
 * draw from the run's generator, so the generator's state in a checkpoint (rngState) is all a resumed
 * run needs to draw the masks the uninterrupted run would have drawn.
 *
 * (Before, the coordinator drew every decision of the batch from the run's generator, one after the
 * other, while the workers waited, and each worker looked its rows up in a shared byte array: config A
 * with dropout trained at ~4,000 steps in 5 minutes against ~5,100 without.)
 */
import { mix32, type Random } from './random';

/** What a step's dropout masks are drawn from. */
export interface DropoutDraw {
  /** The step's key: one draw from the run's generator (dropoutDraw). */
  key: number;
  /** B: streams of the whole batch (a row's index in the masks is t·B + b). */
  streams: number;
  /** The first stream of the rows drawn here (a data-parallel worker's b0; 0 for the whole batch). */
  first: number;
}

/** The draw of one step of the whole batch of `streams` streams: its key is the generator's next 32 bits. */
export function dropoutDraw(rng: Random, streams: number): DropoutDraw {
  return { key: Math.floor(rng.next() * 4294967296) >>> 0, streams, first: 0 };
}

/**
 * Mask `index` of a step (0 … layers − 2: the inputs of layers 2 … L; layers − 1: the top's output) for
 * T steps × B rows (the draw's streams [first, first + B)) × H units, as multipliers: 0 with
 * probability p, else 1/(1 − p). Row r = t·B + b of the result is row t·streams + first + b of the
 * whole batch's mask. One hash decides two units (its two 16-bit halves: p to 1/65,536).
 */
export function dropoutMask(draw: DropoutDraw, index: number, T: number, B: number, H: number, p: number): Float32Array {
  const { salt, salt2, threshold, keep } = maskConstants(draw, index, B, p);
  const out = new Float32Array(T * B * H);
  const pairs = H >> 1, halfRow = (H + 1) >> 1;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = t * draw.streams + draw.first + b;
      const o = (t * B + b) * H;
      const base = Math.imul(row, halfRow);
      for (let k = 0; k < pairs; k++) {
        const h = mix32(mix32((base + k) ^ salt) ^ salt2);
        out[o + 2 * k] = (h & 0xffff) < threshold ? 0 : keep;
        out[o + 2 * k + 1] = h >>> 16 < threshold ? 0 : keep;
      }
      if (H & 1) out[o + H - 1] = (mix32(mix32((base + pairs) ^ salt) ^ salt2) & 0xffff) < threshold ? 0 : keep;
    }
  }
  return out;
}

/** What a mask's decisions derive from besides the row and unit: two salts of (key, index), the drop threshold, the kept multiplier. */
function maskConstants(draw: DropoutDraw, index: number, B: number, p: number): { salt: number; salt2: number; threshold: number; keep: number } {
  if (!(p > 0 && p < 1)) throw new RangeError(`dropout must be in (0, 1) to draw a mask (got ${p})`);
  if (draw.first < 0 || draw.first + B > draw.streams) throw new RangeError(`streams [${draw.first}, ${draw.first + B}) are outside the batch's ${draw.streams}`);
  // Two rounds keyed differently: with one (e ^ salt, or e + salt) the masks of two keys would be
  // permutations or shifts of each other.
  const salt = mix32(draw.key ^ mix32(index + 0x9e3779b9)), salt2 = mix32(salt + 0x632be5ab);
  return { salt, salt2, threshold: Math.round(p * 65536), keep: Math.fround(1 / (1 - p)) };
}

/** The addon's loop that draws a mask's decisions and multiplies by them in one pass (native/row_kernels.h). */
export type DropoutRowsKernel = (
  T: number, B: number, H: number, streams: number, first: number, salt: number, salt2: number, threshold: number, keep: number,
  x: Float32Array, out: Float32Array,
) => void;

/**
 * x ⊙ (mask `index` of the draw), for x of T·B rows × H: the product applyMask(x, dropoutMask(…))
 * makes, as a new array. With `kernel` (the addon's dropoutRows, on native) the decisions are drawn
 * and applied in one pass in C and the mask is never stored; the values are bit for bit the same.
 */
export function maskedRows(draw: DropoutDraw, index: number, T: number, B: number, H: number, p: number, x: Float32Array, kernel: DropoutRowsKernel | null): Float32Array {
  if (x.length !== T * B * H) throw new RangeError(`${x.length} values to mask, expected T·B·H = ${T * B * H}`);
  if (!kernel) return applyMask(x, dropoutMask(draw, index, T, B, H, p));
  const { salt, salt2, threshold, keep } = maskConstants(draw, index, B, p);
  const out = new Float32Array(x.length);
  kernel(T, B, H, draw.streams, draw.first, salt, salt2, threshold, keep, x, out);
  return out;
}

/** x ⊙ mask, elementwise, as a new array (the model's masked rows). */
export function applyMask(x: Float32Array, mask: Float32Array): Float32Array {
  if (x.length !== mask.length) throw new RangeError(`a mask of ${mask.length} values for ${x.length}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * mask[i];
  return out;
}
