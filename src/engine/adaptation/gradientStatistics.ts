/**
 * Gradient statistics for dynamic evaluation (Krause et al., 2018): the mean squared gradient of every
 * parameter, gathered once on segments of the training text with the trained weights fixed,
 *   MS_i = (1/N) Σ_k (∇_i L(s_k))²        over N segments s_k of the training split,
 * kept as RMS_i = √MS_i, with mean(RMS), the average over all parameters, that normalises the decay.
 *
 * The segments are `segment` characters long and read by `streams` streams side by side, spread
 * evenly over the training text (so a budget of characters samples all of it, not only its first
 * files), each carrying its hidden state from segment to segment. Deterministic for the same weights
 * and text.
 *
 * Beside a checkpoint they are stored as `dyneval-stats-<checkpoint name>-n<segment>.bin`: a JSON
 * header (what they were gathered from: the checkpoint's data checksum, the text, the segment, the
 * streams, the budget) then the RMS values as float32. A file whose header does not match what is
 * asked for is gathered again and replaced.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelConfig } from '../nn/config';
import { paramSpecs } from '../nn/model';
import { writeFileAtomic } from '../training/checkpoint';
import { runSegment, StreamState, zeroStreamState } from './segmentGradient';

export interface GradientStatistics {
  /** RMS_i = √MS_i per parameter, in the order of paramSpecs. */
  rms: Map<string, Float32Array>;
  /** Mean of RMS_i over every parameter (element-weighted). */
  meanRms: number;
  /** Segment length the gradients were taken over. */
  segment: number;
  /** Streams per batch. */
  streams: number;
  /** Gradients averaged (batches of `streams` segments). */
  batches: number;
  /** Training characters read. */
  chars: number;
}

export interface GatherOptions {
  /** Characters per segment (use the segment length of the evaluation). */
  segment: number;
  /** Segments per gradient, side by side (default 1: the gradients dynamic evaluation takes). */
  streams?: number;
  /** Training characters to read at most (default DEFAULT_STATISTICS_CHARS; 0 = all). */
  maxChars?: number;
  /** Called after each batch with the characters read so far. */
  onProgress?: (chars: number, total: number) => void;
  signal?: AbortSignal;
}

/** Training characters read for the statistics by default. */
export const DEFAULT_STATISTICS_CHARS = 100_000;

export async function gatherGradientStatistics(
  config: ModelConfig,
  weights: Map<string, Float32Array>,
  ids: Int32Array,
  opts: GatherOptions,
): Promise<GradientStatistics> {
  const T = opts.segment;
  const B = Math.max(1, opts.streams ?? 1);
  const budget = opts.maxChars === undefined ? DEFAULT_STATISTICS_CHARS : opts.maxChars;
  const available = ids.length - 1; // predicted positions
  const perStream = Math.floor(Math.min(budget > 0 ? budget : available, available) / B);
  const batches = Math.floor(perStream / T);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`The segment length must be a whole number ≥ 1; got ${T}.`);
  if (batches < 1) throw new Error(`The training text is too short for gradient statistics: ${B} stream(s) × ${T} characters need ${B * T + 1} characters, it has ${ids.length}.`);
  const stride = Math.floor(available / B); // stream s starts at s · stride
  const sums = new Map(paramSpecs(config).map((s) => [s.name, new Float64Array(s.shape.reduce((a, b) => a * b, 1))]));
  let state: StreamState = zeroStreamState(config, B);
  const inputs = new Int32Array(T * B);
  const targets = new Int32Array(T * B);
  for (let k = 0; k < batches; k++) {
    if (opts.signal?.aborted) throw new Error('Gathering gradient statistics was cancelled.');
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < B; s++) {
        const pos = s * stride + k * T + t;
        inputs[t * B + s] = ids[pos];
        targets[t * B + s] = ids[pos + 1];
      }
    }
    const r = runSegment(config, weights, inputs, targets, T, B, state, true);
    for (const [name, g] of r.grads!) {
      const sum = sums.get(name)!;
      for (let i = 0; i < g.length; i++) sum[i] += g[i] * g[i];
    }
    state = r.state;
    opts.onProgress?.((k + 1) * T * B, batches * T * B);
    if (k % 8 === 7) await new Promise((r) => setImmediate(r));
  }
  const rms = new Map<string, Float32Array>();
  let total = 0;
  let count = 0;
  for (const [name, sum] of sums) {
    const v = new Float32Array(sum.length);
    for (let i = 0; i < sum.length; i++) {
      v[i] = Math.sqrt(sum[i] / batches);
      total += v[i];
    }
    count += sum.length;
    rms.set(name, v);
  }
  return { rms, meanRms: total / count, segment: T, streams: B, batches, chars: batches * T * B };
}

// ---- the file beside a checkpoint ----

export const STATISTICS_FORMAT = 'lstm-lab-dyneval-stats';
const STATISTICS_VERSION = 1;

/** What a stored file must have been gathered from to be used again. */
export interface StatisticsKey {
  /** The checkpoint's data checksum (its weights). */
  checkpointChecksum: string;
  /** Where the training text came from (a corpus root or a path). */
  textSource: string;
  /** Characters of that text. */
  textChars: number;
  segment: number;
  streams: number;
  maxChars: number;
}

interface StatisticsHeader extends StatisticsKey {
  format: typeof STATISTICS_FORMAT;
  version: number;
  meanRms: number;
  batches: number;
  chars: number;
  tensors: { name: string; length: number }[];
}

export function statisticsFileFor(checkpointPath: string, segment: number): string {
  const base = path.basename(checkpointPath).replace(/\.ckpt$/, '');
  return path.join(path.dirname(checkpointPath), `dyneval-stats-${base}-n${segment}.bin`);
}

export function encodeStatistics(stats: GradientStatistics, key: StatisticsKey): Buffer {
  const tensors = Array.from(stats.rms, ([name, v]) => ({ name, length: v.length }));
  const header: StatisticsHeader = {
    format: STATISTICS_FORMAT, version: STATISTICS_VERSION, ...key,
    meanRms: stats.meanRms, batches: stats.batches, chars: stats.chars, tensors,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((4 + json.length) / 4) * 4; // float data starts 4-aligned
  const total = tensors.reduce((n, t) => n + t.length, 0);
  const out = Buffer.alloc(padded + total * 4, 0x20);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let offset = padded;
  for (const v of stats.rms.values()) {
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(out, offset);
    offset += v.byteLength;
  }
  return out;
}

/** The statistics in a file's bytes when its header matches `key` and `config`; else null. */
export function decodeStatistics(bytes: Buffer, key: StatisticsKey, config: ModelConfig): GradientStatistics | null {
  if (bytes.length < 4) return null;
  const n = bytes.readUInt32LE(0);
  let header: StatisticsHeader;
  try {
    header = JSON.parse(bytes.subarray(4, 4 + n).toString('utf8')) as StatisticsHeader;
  } catch {
    return null;
  }
  if (header.format !== STATISTICS_FORMAT || header.version !== STATISTICS_VERSION) return null;
  for (const k of Object.keys(key) as (keyof StatisticsKey)[]) if (header[k] !== key[k]) return null;
  const specs = paramSpecs(config);
  if (header.tensors.length !== specs.length) return null;
  let offset = Math.ceil((4 + n) / 4) * 4;
  const rms = new Map<string, Float32Array>();
  for (let i = 0; i < specs.length; i++) {
    const size = specs[i].shape.reduce((a, b) => a * b, 1);
    const t = header.tensors[i];
    if (t.name !== specs[i].name || t.length !== size || offset + size * 4 > bytes.length) return null;
    const v = new Float32Array(size);
    Buffer.from(v.buffer).set(bytes.subarray(offset, offset + size * 4));
    rms.set(t.name, v);
    offset += size * 4;
  }
  return { rms, meanRms: header.meanRms, segment: header.segment, streams: header.streams, batches: header.batches, chars: header.chars };
}

export interface StoredStatistics {
  stats: GradientStatistics;
  file: string;
  /** True when read from the file, false when gathered now. */
  reused: boolean;
  /** Why the file could not be written, when it could not (the statistics are still returned). */
  writeError?: string;
}

/** The statistics in `file` when it matches `key`, else gathered from `ids` and written there. */
export async function loadOrGatherStatistics(
  file: string,
  key: StatisticsKey,
  config: ModelConfig,
  weights: Map<string, Float32Array>,
  ids: Int32Array,
  opts: Omit<GatherOptions, 'segment' | 'streams' | 'maxChars'> = {},
): Promise<StoredStatistics> {
  const bytes = await fs.readFile(file).catch(() => null);
  const stored = bytes ? decodeStatistics(bytes, key, config) : null;
  if (stored) return { stats: stored, file, reused: true };
  const stats = await gatherGradientStatistics(config, weights, ids, { ...opts, segment: key.segment, streams: key.streams, maxChars: key.maxChars });
  try {
    await writeFileAtomic(file, encodeStatistics(stats, key));
    return { stats, file, reused: false };
  } catch (e) {
    return { stats, file, reused: false, writeError: (e as Error).message };
  }
}
