/**
 * Checkpoints that describe themselves: one file holding the model and training configuration, the
 * vocabulary, the weights, the optimiser state, the data position, the carried hidden state, the random
 * generator and the metrics so far — everything a resumed run needs to continue exactly.
 *
 * File layout (little-endian):
 *   0   8 bytes   magic "LSTMLAB1"
 *   8   uint32    header length n
 *   12  n bytes   header, UTF-8 JSON (CheckpointHeader)
 *   …   0–3 bytes zero padding to a multiple of 4
 *   …   float32   tensor data, in header.tensors order; header.dataChecksum is its FNV-1a hash
 *
 * Written atomically: to a temporary file in the same folder, fsync'd, then renamed over the target,
 * so a crash or a cancel in the middle of a write leaves the previous checkpoint intact.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelConfig, TrainConfig, validateModelConfig } from './config';
import { paramSpecs } from './model';
import { OptimizerSnapshot } from './optimizer';
import { Vocabulary } from './vocabulary';

const MAGIC = 'LSTMLAB1';
export const CHECKPOINT_FORMAT = 'lstm-lab-checkpoint';
export const CHECKPOINT_VERSION = 1;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface TensorRecord {
  name: string;
  shape: number[];
  /** Offset in float32 elements from the start of the data section. */
  offset: number;
  length: number;
}

export interface EvalRecord {
  event: 'eval';
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  valLoss: number;
  valBitsPerChar: number;
  valPerplexity: number;
  charsPerSec: number;
  learningRate: number;
}

export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  createdAt: string;
  runId: string;
  /** 'best' (lowest validation loss so far) or 'last'. */
  role: 'best' | 'last' | 'export';
  model: ModelConfig;
  train: TrainConfig;
  vocabulary: unknown;
  step: number;
  charsSeen: number;
  secondsTrained: number;
  data: { position: number; epoch: number };
  rngState: number;
  /** Multiplier on the configured learning rate (lowered after NaN recoveries). */
  lrScale: number;
  optimizer: { kind: string; t: number } | null;
  bestValLoss: number | null;
  lastEval: EvalRecord | null;
  backend: string;
  corpus: { root: string; trainFiles: number; validationFiles: number; trainChars: number; validationChars: number } | null;
  tensors: TensorRecord[];
  dataChecksum: string;
}

export interface CheckpointContent {
  header: Omit<CheckpointHeader, 'format' | 'version' | 'tensors' | 'dataChecksum' | 'createdAt'>;
  params: Map<string, Float32Array>;
  optimizer: OptimizerSnapshot | null;
  /** Carried hidden state per layer, [B, H] each. */
  state: { h: Float32Array[]; c: (Float32Array | null)[] } | null;
}

export interface LoadedCheckpoint {
  path: string;
  header: CheckpointHeader;
  vocabulary: Vocabulary;
  params: Map<string, Float32Array>;
  optimizer: OptimizerSnapshot | null;
  state: { h: Float32Array[]; c: (Float32Array | null)[] } | null;
}

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Serialise a checkpoint to bytes. */
export function encodeCheckpoint(content: CheckpointContent): Buffer {
  const records: TensorRecord[] = [];
  const arrays: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], a: Float32Array) => {
    records.push({ name, shape, offset, length: a.length });
    arrays.push(a);
    offset += a.length;
  };
  const specs = new Map(paramSpecs(content.header.model).map((s) => [s.name, s.shape]));
  for (const [name, shape] of specs) {
    const a = content.params.get(name);
    if (!a) throw new CheckpointError(`Cannot save: parameter ${name} is missing.`);
    add(`param/${name}`, shape, a);
  }
  if (content.optimizer) {
    for (const [name, slots] of content.optimizer.slots) {
      slots.forEach((a, i) => add(`opt/${name}/${i}`, specs.get(name) ?? [a.length], a));
    }
  }
  if (content.state) {
    content.state.h.forEach((a, k) => add(`state/h/${k}`, [a.length / content.header.model.hidden, content.header.model.hidden], a));
    content.state.c.forEach((a, k) => a && add(`state/c/${k}`, [a.length / content.header.model.hidden, content.header.model.hidden], a));
  }
  const data = new Uint8Array(offset * 4);
  const view = new Float32Array(data.buffer);
  let o = 0;
  for (const a of arrays) {
    view.set(a, o);
    o += a.length;
  }
  const header: CheckpointHeader = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: new Date().toISOString(),
    ...content.header,
    optimizer: content.optimizer ? { kind: content.optimizer.kind, t: content.optimizer.t } : null,
    tensors: records,
    dataChecksum: fnv1a(data),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((12 + headerBytes.length) % 4)) % 4;
  const out = Buffer.alloc(12 + headerBytes.length + pad + data.length);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(out, 12);
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 12 + headerBytes.length + pad);
  return out;
}

/** Write a file atomically: temp file in the same folder, fsync, rename. */
export async function writeFileAtomic(target: string, bytes: Uint8Array | string): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

export async function saveCheckpoint(file: string, content: CheckpointContent): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(content));
}

/** Parse and validate checkpoint bytes; every failure says what is wrong. */
/**
 * The header of a checkpoint from its first bytes (magic, length, JSON), checked for format and
 * version. `bytes` may hold only the start of the file: enough for the header is enough.
 */
function parseHeader(bytes: Buffer, where: string): CheckpointHeader {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) {
    throw new CheckpointError(`${where} is not an LSTM Lab checkpoint (it does not start with "${MAGIC}").`);
  }
  const n = bytes.readUInt32LE(8);
  if (12 + n > bytes.length) {
    throw new CheckpointError(`${where} is truncated: its header says ${n} bytes but the file has ${bytes.length - 12} after the magic.`);
  }
  let header: CheckpointHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + n));
  } catch (e) {
    throw new CheckpointError(`${where} has a corrupt header (${(e as Error).message}).`);
  }
  if (header?.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${where} is not an LSTM Lab checkpoint (format ${JSON.stringify(header?.format)}).`);
  if (header.version > CHECKPOINT_VERSION) {
    throw new CheckpointError(`${where} was written by a newer LSTM Lab (checkpoint version ${header.version}; this one reads up to ${CHECKPOINT_VERSION}).`);
  }
  return header;
}

export function decodeCheckpoint(bytes: Buffer, file = '<memory>'): LoadedCheckpoint {
  const where = `${file}`;
  const header = parseHeader(bytes, where);
  const n = bytes.readUInt32LE(8);
  if (!Array.isArray(header.tensors) || typeof header.dataChecksum !== 'string') throw new CheckpointError(`${where} has a corrupt header (no tensor table).`);
  try {
    validateModelConfig(header.model);
  } catch (e) {
    throw new CheckpointError(`${where} has an invalid model configuration: ${(e as Error).message}`);
  }
  let vocabulary: Vocabulary;
  try {
    vocabulary = Vocabulary.fromJSON(header.vocabulary);
  } catch (e) {
    throw new CheckpointError(`${where} has an invalid vocabulary: ${(e as Error).message}`);
  }
  if (vocabulary.size !== header.model.vocabSize) {
    throw new CheckpointError(`${where}: the vocabulary has ${vocabulary.size} symbols but the model expects ${header.model.vocabSize}.`);
  }
  const pad = (4 - ((12 + n) % 4)) % 4;
  const start = 12 + n + pad;
  const total = header.tensors.reduce((s, r) => Math.max(s, r.offset + r.length), 0);
  if (bytes.length - start !== total * 4) {
    throw new CheckpointError(`${where} is truncated or corrupt: ${bytes.length - start} data bytes, expected ${total * 4}.`);
  }
  const dataBytes = new Uint8Array(bytes.buffer, bytes.byteOffset + start, total * 4);
  if (fnv1a(dataBytes) !== header.dataChecksum) throw new CheckpointError(`${where} is corrupt: its data checksum does not match.`);
  const data = new Float32Array(total);
  new Uint8Array(data.buffer).set(dataBytes);
  const byName = new Map(header.tensors.map((r) => [r.name, r]));
  const take = (name: string) => {
    const r = byName.get(name);
    return r ? data.slice(r.offset, r.offset + r.length) : null;
  };
  const params = new Map<string, Float32Array>();
  for (const spec of paramSpecs(header.model)) {
    const a = take(`param/${spec.name}`);
    const size = spec.shape.reduce((x, y) => x * y, 1);
    if (!a) throw new CheckpointError(`${where} is missing parameter ${spec.name}.`);
    if (a.length !== size) throw new CheckpointError(`${where}: parameter ${spec.name} has ${a.length} values, the model needs ${size}.`);
    params.set(spec.name, a);
  }
  let optimizer: OptimizerSnapshot | null = null;
  if (header.optimizer) {
    const slots = new Map<string, Float32Array[]>();
    const nSlots = header.optimizer.kind === 'adam' ? 2 : 1;
    for (const spec of paramSpecs(header.model)) {
      const arr: Float32Array[] = [];
      for (let i = 0; i < nSlots; i++) {
        const a = take(`opt/${spec.name}/${i}`);
        if (a) arr.push(a);
      }
      if (arr.length === nSlots) slots.set(spec.name, arr);
    }
    optimizer = { kind: header.optimizer.kind as OptimizerSnapshot['kind'], t: header.optimizer.t, slots };
  }
  let state: LoadedCheckpoint['state'] = null;
  if (byName.has('state/h/0')) {
    const h: Float32Array[] = [];
    const c: (Float32Array | null)[] = [];
    for (let k = 0; k < header.model.layers; k++) {
      const hk = take(`state/h/${k}`);
      if (!hk) throw new CheckpointError(`${where} is missing the carried state of layer ${k + 1}.`);
      h.push(hk);
      c.push(take(`state/c/${k}`));
    }
    state = { h, c };
  }
  for (const a of params.values()) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) throw new CheckpointError(`${where} holds non-finite weights (NaN or Infinity); it cannot be used.`);
    }
  }
  return { path: file, header, vocabulary, params, optimizer, state };
}

/**
 * Load a checkpoint from a file, or from a run folder (its best.ckpt or last.ckpt, as preferred).
 */
export async function loadCheckpoint(file: string, prefer: 'best' | 'last' = 'best'): Promise<LoadedCheckpoint> {
  const target = await checkpointFile(file, prefer);
  const bytes = await fs.promises.readFile(target);
  return decodeCheckpoint(bytes, target);
}

/**
 * Only the header of a checkpoint (a file or a run folder, as for loadCheckpoint), read without the
 * weights: what a command needs to know about a run before it loads it.
 */
export async function readCheckpointHeader(file: string, prefer: 'best' | 'last' = 'best'): Promise<CheckpointHeader> {
  const target = await checkpointFile(file, prefer);
  const handle = await fs.promises.open(target, 'r');
  try {
    const start = Buffer.alloc(12);
    const { bytesRead } = await handle.read(start, 0, 12, 0);
    const n = bytesRead === 12 && start.toString('ascii', 0, 8) === MAGIC ? start.readUInt32LE(8) : 0;
    const bytes = Buffer.alloc(Math.min(12 + n, (await handle.stat()).size));
    await handle.read(bytes, 0, bytes.length, 0);
    return parseHeader(bytes, target);
  } finally {
    await handle.close();
  }
}

/** The checkpoint file meant by a file or a run folder (its best.ckpt or last.ckpt, as preferred). */
async function checkpointFile(file: string, prefer: 'best' | 'last'): Promise<string> {
  let target = file;
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new CheckpointError(`No checkpoint at ${file}.`);
  }
  if (stat.isDirectory()) {
    const order = prefer === 'best' ? ['best.ckpt', 'last.ckpt'] : ['last.ckpt', 'best.ckpt'];
    const candidates = order.map((n) => path.join(file, n));
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) throw new CheckpointError(`${file} is a folder without best.ckpt or last.ckpt.`);
    target = found;
  }
  return target;
}
