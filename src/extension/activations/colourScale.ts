/**
 * The activation colour scale, shared by the panel (webview) and the editor overlay (decorations):
 * a diverging scale as in Karpathy, Johnson & Fei-Fei 2015 — the scale's low end full blue, its
 * neutral point no colour at all (the theme's background shows through), its high end full red.
 *
 * Each quantity has its natural range: tanh(c), h and the tanh candidates (g, n) live in [−1, 1]
 * with 0 neutral; the sigmoid gates (i, f, o, z, r) in [0, 1] with 0.5 neutral; the raw cell state
 * c is unbounded, so its scale is ± the largest |c| of the cell over the traced text, rounded up.
 *
 * The overlay quantises the scale into BUCKETS buckets (one TextEditorDecorationType each, created
 * once); bucket MIDDLE_BUCKET is neutral and gets no decoration.
 *
 * The webview bundle and the extension host both use this file: its one import, the gate names and
 * quantities of kernels.ts, imports nothing.
 */
import { GATE_ACTIVATION, GateName, QUANTITIES } from '../../engine/nn/kernels';

export interface ColourScale {
  lo: number;
  mid: number;
  hi: number;
}

/** Decoration types of the overlay: an odd number, so that one bucket is exactly neutral. */
export const BUCKETS = 21;
export const MIDDLE_BUCKET = (BUCKETS - 1) / 2;

const SIGMOID_GATES = new Set<string>((Object.keys(GATE_ACTIVATION) as GateName[]).filter((g) => GATE_ACTIVATION[g] === 'sigmoid'));

/** Round up to 1, 2 or 5 × a power of ten (a legend reads "±2" rather than "±1.83"). */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/**
 * The scale for a quantity. For 'c', `values` (one cell's values; NaN = unknown) set the range:
 * ± the largest |c|, rounded up with niceCeil (±1 when nothing is known).
 */
export function scaleFor(quantity: string, values?: ArrayLike<number>): ColourScale {
  if (SIGMOID_GATES.has(quantity)) return { lo: 0, mid: 0.5, hi: 1 };
  if (quantity === 'c') {
    let max = 0;
    if (values) for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (a > max) max = a; // NaN compares false
    }
    const r = niceCeil(max);
    return { lo: -r, mid: 0, hi: r };
  }
  return { lo: -1, mid: 0, hi: 1 };
}

/**
 * A scale stretched over the values themselves: neutral at their median, full blue and red at their
 * 2nd and 98th percentiles (NaN ignored), so a cell that stays near saturation still shows where it
 * moves. Falls back to `fallback` when fewer than two distinct values are known.
 */
export function fittedScale(values: ArrayLike<number>, fallback: ColourScale): ColourScale {
  const known: number[] = [];
  // A sample is enough for percentiles (and keeps this cheap on long files).
  const step = Math.max(1, Math.floor(values.length / 20000));
  for (let i = 0; i < values.length; i += step) if (!Number.isNaN(values[i])) known.push(values[i]);
  if (known.length < 2) return fallback;
  known.sort((a, b) => a - b);
  const at = (q: number) => known[Math.min(known.length - 1, Math.max(0, Math.round(q * (known.length - 1))))];
  let lo = at(0.02);
  let hi = at(0.98);
  let mid = at(0.5);
  if (!(hi > lo)) {
    lo = known[0];
    hi = known[known.length - 1];
    if (!(hi > lo)) return fallback;
  }
  if (!(mid > lo && mid < hi)) mid = (lo + hi) / 2;
  return { lo, mid, hi };
}

/** Map a value to [−1, 1]: −1 at lo, 0 at mid, +1 at hi, clamped. NaN stays NaN (not traced yet). */
export function normalise(v: number, s: ColourScale): number {
  if (Number.isNaN(v)) return NaN;
  const t = v >= s.mid ? (v - s.mid) / (s.hi - s.mid || 1) : -(s.mid - v) / (s.mid - s.lo || 1);
  return t > 1 ? 1 : t < -1 ? -1 : t;
}

/** Bucket of a normalised value: 0 (−1, full blue) … MIDDLE_BUCKET (0) … BUCKETS − 1 (+1, full red); NaN → middle. */
export function bucketOf(t: number, buckets = BUCKETS): number {
  if (Number.isNaN(t)) return (buckets - 1) / 2;
  const c = t > 1 ? 1 : t < -1 ? -1 : t;
  return Math.round(((c + 1) / 2) * (buckets - 1));
}

/** The normalised value a bucket stands for (its centre). */
export function bucketValue(bucket: number, buckets = BUCKETS): number {
  return (bucket / (buckets - 1)) * 2 - 1;
}

/** Blue and red ends of the scale (sRGB). Chosen to keep text readable on light and dark themes. */
const BLUE: readonly [number, number, number] = [45, 110, 235];
const RED: readonly [number, number, number] = [225, 45, 40];

/**
 * CSS colour of a normalised value: the end colour with opacity |t| × maxAlpha, so 0 is
 * transparent and the theme's own background is the neutral point. NaN → transparent.
 */
export function colourOf(t: number, maxAlpha = 0.8): string {
  if (Number.isNaN(t) || t === 0) return 'transparent';
  const c = t > 1 ? 1 : t < -1 ? -1 : t;
  const [r, g, b] = c < 0 ? BLUE : RED;
  const a = Math.round(Math.abs(c) * maxAlpha * 1000) / 1000;
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}

/** Short label of a scale value for legends and tooltips. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1000)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : 3);
}

/** The quantities a model kind offers, in menu order. */
export function quantitiesOf(kind: string): string[] {
  return Object.hasOwn(QUANTITIES, kind) ? [...QUANTITIES[kind as keyof typeof QUANTITIES]] : ['h'];
}

/** The default quantity: the paper's tanh(c) for LSTMs, h otherwise. */
export function defaultQuantity(kind: string): string {
  return kind === 'lstm' ? 'tanh(c)' : 'h';
}

export interface BucketRun {
  bucket: number;
  /** UTF-16 offsets [start, end) in the document. */
  start: number;
  end: number;
}

/**
 * The overlay's ranges: consecutive code points of [from, to) that fall in the same bucket, in
 * UTF-16 offsets (what editors count). Line breaks are never coloured and end a run; neutral and
 * not-yet-traced (NaN) positions get no run. `values` holds one value per code point from
 * document code point `valuesStart` on.
 */
export function bucketRuns(
  values: ArrayLike<number>, valuesStart: number, unitOfCp: ArrayLike<number>, text: string, scale: ColourScale, from: number, to: number, buckets = BUCKETS,
): BucketRun[] {
  const runs: BucketRun[] = [];
  const middle = (buckets - 1) / 2;
  let current: BucketRun | null = null;
  for (let cp = from; cp < to; cp++) {
    const unit = unitOfCp[cp];
    const ch = text.charCodeAt(unit);
    const v = values[cp - valuesStart];
    const b = ch === 10 || ch === 13 || v === undefined || Number.isNaN(v) ? middle : bucketOf(normalise(v, scale), buckets);
    if (b === middle) {
      current = null;
      continue;
    }
    const end = unitOfCp[cp + 1];
    if (current && current.bucket === b && current.end === unit) current.end = end;
    else runs.push((current = { bucket: b, start: unit, end }));
  }
  return runs;
}
