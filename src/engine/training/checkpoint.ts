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
 *   …   uint32    (version 2 on) FNV-1a hash of every byte before it: header included, so a changed
 *                 step or configuration is caught as surely as a changed weight
 * Version 1 files (no final hash; only the data checked) still load, with LoadedCheckpoint.note
 * saying so; every save writes version 2.
 *
 * Written atomically: to a temporary file in the same folder (`<name>.tmp-<pid>-<random>`), fsync'd,
 * renamed over the target, then the folder fsync'd, so a crash or a cancel in the middle of a write
 * leaves the previous checkpoint intact and a finished write survives a power cut.
 *
 * Also here: the folders these files go into, made one level at a time and refused at once, with the
 * reason, when they cannot be made (a file in the way, /proc or /sys, a read-only disk).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelConfig, TrainConfig, validateModelConfig } from '../nn/config';
import { paramSpecs } from '../nn/model';
import { OptimizerSnapshot } from '../nn/optimizer';
import { Vocabulary } from '../data/vocabulary';

const MAGIC = 'LSTMLAB1';
export const CHECKPOINT_FORMAT = 'lstm-lab-checkpoint';
export const CHECKPOINT_VERSION = 2;
/** The first version whose final 4 bytes hash the whole file before them. */
const WHOLE_FILE_CHECKSUM_VERSION = 2;

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
  /** Something to tell the user about the file that does not stop it loading (an older version). */
  note?: string;
}

/** 32-bit FNV-1a of some bytes, as an unsigned number. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const hex = (h: number) => h.toString(16).padStart(8, '0');

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
    dataChecksum: hex(fnv1a(data)),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((12 + headerBytes.length) % 4)) % 4;
  const body = 12 + headerBytes.length + pad + data.length;
  const out = Buffer.alloc(body + 4);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(out, 12);
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 12 + headerBytes.length + pad);
  out.writeUInt32LE(fnv1a(out.subarray(0, body)), body);
  return out;
}

/**
 * The temporary file writeFileAtomic writes before renaming it over `target`:
 * `<target>.tmp-<pid>-<6 random letters or digits>`, so a leftover names the process that left it.
 */
export function tempFileFor(target: string): string {
  return `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
}

const TEMP_FILE = /\.tmp-(\d+)-[a-z0-9]{1,6}$/;

/** The pid in the name of a temporary file of writeFileAtomic, or null when the name is not one. */
export function tempFileWriter(name: string): number | null {
  const m = TEMP_FILE.exec(name);
  return m ? Number(m[1]) : null;
}

/** Write a file atomically: temp file in the same folder, fsync, rename, fsync the folder. */
export async function writeFileAtomic(target: string, bytes: Uint8Array | string): Promise<void> {
  await makeFolder(path.dirname(target));
  const tmp = tempFileFor(target);
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
  await syncFolder(path.dirname(target));
}

/** Append text to a file and fsync it, so what was appended survives a crash. */
export async function appendFileDurably(file: string, text: string): Promise<void> {
  const fh = await fs.promises.open(file, 'a');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsync a folder, so a rename or a new file in it survives a crash. Where folders cannot be opened
 * or synced (Windows, some network filesystems) the rename is as durable as the system makes it.
 */
export async function syncFolder(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch {
    /* EINVAL, EPERM, EISDIR: this filesystem does not sync folders */
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Folders

/** A folder that cannot be made or written: says which and why. */
export class FolderError extends Error {
  override name = 'FolderError';
}

/** Virtual filesystems of the kernel: nothing LSTM Lab writes belongs there. */
const VIRTUAL_ROOTS = ['/proc', '/sys'];

/**
 * Make a folder and the missing folders above it, one at a time. Refused at once, with the reason,
 * when the nearest existing folder above is a file, is on /proc or /sys, or does not take a new
 * folder (where Node's recursive mkdir would retry for ever).
 */
export async function makeFolder(dir: string): Promise<void> {
  const target = path.resolve(dir);
  if (await isFolder(target)) return;
  const missing = await checkFolderCanBeMade(target);
  for (const d of missing) {
    try {
      await fs.promises.mkdir(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await isFolder(d))) continue; // made meanwhile by someone else
      throw new FolderError(`Cannot create the folder ${d} (${code ?? (e as Error).message}). Choose a folder on a writable disk.`);
    }
  }
}

/**
 * Check, without making anything, that the folder `dir` exists or can be made: the nearest existing
 * folder above it is a folder on a normal filesystem that takes a new folder (tried with a probe that
 * is removed at once). Returns the folders still to make, outermost first.
 */
export async function checkFolderCanBeMade(dir: string): Promise<string[]> {
  const target = path.resolve(dir);
  const virtual = VIRTUAL_ROOTS.find((r) => target === r || target.startsWith(r + '/'));
  if (process.platform !== 'win32' && virtual) {
    throw new FolderError(`Cannot write to ${target}: ${virtual} is a virtual filesystem of the kernel, not a disk. Choose another folder.`);
  }
  const missing: string[] = [];
  let existing = target;
  let stat: fs.Stats | null = null;
  while (!(stat = await fs.promises.stat(existing).catch(() => null))) {
    missing.unshift(existing);
    const up = path.dirname(existing);
    if (up === existing) throw new FolderError(`Cannot create the folder ${target}: no folder above it exists.`);
    existing = up;
  }
  if (!stat.isDirectory()) {
    throw new FolderError(`Cannot create the folder ${target}: ${existing} is a file, not a folder. Choose another folder.`);
  }
  const probe = path.join(existing, `.lstm-lab-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    await fs.promises.mkdir(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'you may not write there' : code === 'EROFS' ? 'it is on a read-only filesystem' : `it does not take new folders (${code})`;
    throw new FolderError(`Cannot ${missing.length ? `create the folder ${target}` : `write to ${target}`}: ${why}. Choose another folder.`);
  }
  await fs.promises.rmdir(probe).catch(() => undefined);
  return missing;
}

async function isFolder(dir: string): Promise<boolean> {
  return (await fs.promises.stat(dir).catch(() => null))?.isDirectory() ?? false;
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
  const wholeFile = header.version >= WHOLE_FILE_CHECKSUM_VERSION;
  const trailer = wholeFile ? 4 : 0;
  if (bytes.length - start - trailer !== total * 4) {
    throw new CheckpointError(`${where} is truncated or corrupt: ${bytes.length - start - trailer} data bytes, expected ${total * 4}.`);
  }
  const dataBytes = new Uint8Array(bytes.buffer, bytes.byteOffset + start, total * 4);
  let note: string | undefined;
  if (wholeFile) {
    const body = bytes.length - 4;
    if (fnv1a(bytes.subarray(0, body)) !== bytes.readUInt32LE(body)) throw new CheckpointError(`${where} is corrupt: its checksum does not match (header or data changed).`);
  } else {
    if (hex(fnv1a(dataBytes)) !== header.dataChecksum) throw new CheckpointError(`${where} is corrupt: its data checksum does not match.`);
    note = `${where} is a version ${header.version} checkpoint, whose header no checksum covers; it loads as before, and a run resumed from it saves version ${CHECKPOINT_VERSION}.`;
  }
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
  return { path: file, header, vocabulary, params, optimizer, state, ...(note ? { note } : {}) };
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
export async function checkpointFile(file: string, prefer: 'best' | 'last'): Promise<string> {
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
