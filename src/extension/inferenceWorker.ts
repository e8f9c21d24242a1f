/**
 * The inference worker: a worker thread that holds the active model and computes what the activation
 * views show — pieces of a document's trace from a cached state, hover probes, select-to-search,
 * interpretable-cell discovery and gate saturation — so that tracing a whole file never blocks the
 * extension host. Requests are answered in order, one at a time; large arrays travel back as
 * transferred ArrayBuffers. Every message is checked with the protocol's validators.
 */
import * as path from 'path';
import { parentPort } from 'worker_threads';
import { gateSaturation, saturatingGates } from '../analysis/gateSaturation';
import { findSimilarSpans } from '../analysis/cellRanking';
import { discoverCells } from '../analysis/interpretableCells';
import { currentBackend, initBackend, setWasmDirectory } from '../engine/runtime/backend';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { InferenceModel } from '../engine/inference/inference';
import { advanceCodePoints, countCodePoints } from '../engine/data/codePoints';
import { probePosition, quantityValues, spanCells, traceSegment } from './activations/segmentTrace';
import { describeRejected } from './protocol/validation';
import { HostToInference, InferenceModelInfo, InferenceToHost, isHostToInference, SaturationCloud, SimilarSpanResult, SourceFile, WireState } from './protocol/inference';

const port = parentPort;
if (!port) throw new Error('inferenceWorker.ts must run in a worker thread.');

let model: InferenceModel | null = null;
let info: InferenceModelInfo | null = null;
let backendReady: Promise<unknown> | null = null;
let queue: Promise<void> = Promise.resolve();
const DEBUG = !!process.env.LSTM_LAB_DEBUG;

function post(m: InferenceToHost, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(m, [...new Set(transfer)]);
}

port.on('message', (m: unknown) => {
  if (!isHostToInference(m)) {
    post({ type: 'log', line: `inference worker ignored a ${describeRejected(m)}` });
    const id = typeof m === 'object' && m !== null && Number.isInteger((m as { id?: unknown }).id) ? (m as { id: number }).id : null;
    if (id !== null) post({ type: 'failed', id, message: 'the request does not fit the protocol' });
    return;
  }
  if (DEBUG) post({ type: 'log', line: `[debug] worker got ${m.type} ${m.id}` });
  queue = queue.then(() => handle(m)).then(() => {
    if (DEBUG) post({ type: 'log', line: `[debug] worker done ${m.type} ${m.id}` });
  }).catch((e: unknown) => {
    post({ type: 'failed', id: m.id, message: e instanceof Error ? e.message : String(e) });
  });
});

function needModel(): InferenceModel {
  if (!model) throw new Error('No model is loaded in the inference worker.');
  return model;
}

function buffersOf(s: WireState): ArrayBuffer[] {
  return [...s.h.map((a) => a.buffer as ArrayBuffer), ...s.c.filter((a): a is Float32Array => a !== null).map((a) => a.buffer as ArrayBuffer)];
}

/** Take sources in order until `maxChars` code points (the last one cut). */
function capSources(sources: SourceFile[], maxChars: number): { source: number; text: string; languageId: string; path: string }[] {
  const out: { source: number; text: string; languageId: string; path: string }[] = [];
  let total = 0;
  for (let i = 0; i < sources.length && total < maxChars; i++) {
    const text = sources[i].text.slice(0, advanceCodePoints(sources[i].text, 0, maxChars - total)); // the first code points that fit
    const n = countCodePoints(text);
    if (n === 0) continue;
    out.push({ source: i, text, languageId: sources[i].languageId, path: sources[i].path });
    total += n;
  }
  return out;
}

/** Load a checkpoint (the backend is initialised on the first load). */
async function loadRequest(m: Extract<HostToInference, { type: 'load' }>): Promise<void> {
  if (!backendReady) {
    setWasmDirectory(path.join(__dirname, 'wasm'));
    backendReady = initBackend('auto');
  }
  await backendReady;
  const ckpt = await loadCheckpoint(m.checkpoint);
  model?.dispose();
  model = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
  const c = model.config;
  info = {
    kind: c.kind, layers: c.layers, hidden: c.hidden, embedding: c.embedding, vocabSize: c.vocabSize,
    checkpoint: m.checkpoint, kernel: model.kernelName, backend: currentBackend().description,
  };
  post({ type: 'loaded', id: m.id, model: info });
}

/** A piece of a document's trace: states every `stride` code points and one quantity of a layer. */
function traceRequest(m: Extract<HostToInference, { type: 'trace' }>): void {
  const t0 = performance.now();
  const r = traceSegment(needModel(), m.text, m.state, m.offset, m.stride, m.layer, m.quantity);
  // The record arrays may be shared with nothing else: copy the values only when they are a view.
  const values = r.values.byteOffset === 0 && r.values.byteLength === r.values.buffer.byteLength ? r.values : r.values.slice();
  const ms = performance.now() - t0;
  post(
    { type: 'traced', id: m.id, length: values.length / needModel().config.hidden, units: needModel().config.hidden, values, anchorAt: r.anchorAt, anchors: r.anchors, state: r.state, ms },
    [values.buffer as ArrayBuffer, ...r.anchors.flatMap(buffersOf), ...buffersOf(r.state)],
  );
}

/** A hover: every quantity of one cell at the text's last position and the model's next symbols. */
function probeRequest(m: Extract<HostToInference, { type: 'probe' }>): void {
  post({ type: 'probed', id: m.id, probe: probePosition(needModel(), m.text, m.state, m.layer, m.cell, m.topK, m.next) });
}

/** Select-to-search: the cells most on inside a span than around it. */
function spanCellsRequest(m: Extract<HostToInference, { type: 'spanCells' }>): void {
  post({ type: 'spanCellsFound', id: m.id, cells: spanCells(needModel(), m.text, m.state, m.start, m.end, m.margin, m.quantity, m.top) });
}

/** Interpretable cells: every cell ranked against the concepts of the sources. */
async function discoverRequest(m: Extract<HostToInference, { type: 'discover' }>): Promise<void> {
  const t0 = performance.now();
  const grammars = path.join(__dirname, 'grammars');
  const d = await discoverCells(needModel(), m.sources.map((s) => ({ path: s.path, text: s.text, languageId: s.languageId })), {
    top: m.top,
    maxChars: m.maxChars,
    quantities: [m.quantity],
    extra: m.extra.map((e) => ({ id: e.id, pattern: e.pattern, flags: e.flags, title: `/${e.pattern}/${e.flags}` })),
    grammarWasmPath: path.join(grammars, 'tree-sitter-c.wasm'),
    treeSitterWasmPath: path.join(grammars, 'tree-sitter.wasm'),
  });
  post({
    type: 'discovered',
    id: m.id,
    discovery: {
      rankings: d.rankings.map((r) => ({
        concept: r.concept, title: r.title, kind: r.kind, scoreKind: r.scoreKind, positions: r.positions,
        ...(r.positives !== undefined ? { positives: r.positives } : {}),
        ...(r.skipped !== undefined ? { skipped: r.skipped } : {}),
        cells: r.cells.map((c) => ({ layer: c.layer, quantity: c.quantity, cell: c.cell, score: c.score, direction: c.direction, scoreKind: c.scoreKind })),
      })),
      files: d.files,
      chars: d.chars,
      labellers: d.labellers,
      seconds: (performance.now() - t0) / 1000,
    },
  });
}

/** Spans of the sources where the chosen cells are all on, best first. */
function similarSpansRequest(m: Extract<HostToInference, { type: 'similarSpans' }>): void {
  const mdl = needModel();
  const { kind, hidden: H, layers: L } = mdl.config;
  if (!(m.layer >= 1 && m.layer <= L)) throw new Error(`Layer ${m.layer} is not in 1…${L}.`);
  const matches: SimilarSpanResult[] = [];
  const parts = capSources(m.sources, m.maxChars);
  let chars = 0;
  for (const p of parts) {
    const ids = mdl.vocab.encode(p.text);
    chars += ids.length;
    const run = mdl.run(ids, mdl.zeroState(), { record: true });
    const values = quantityValues(kind, run.layers![m.layer - 1], m.quantity, H, ids.length);
    for (const s of findSimilarSpans(values, H, m.cells, m.threshold, m.minLength, { order: 'score', limit: m.limit })) {
      matches.push({ source: p.source, start: s.start, end: s.end, score: s.score });
    }
  }
  matches.sort((a, b) => b.score - a.score || a.source - b.source || a.start - b.start);
  post({ type: 'similarSpansFound', id: m.id, matches: matches.slice(0, m.limit), files: parts.length, chars });
}

/** Gate saturation: per layer and gate, how often each unit is shut or open. */
function saturationRequest(m: Extract<HostToInference, { type: 'saturation' }>): void {
  const mdl = needModel();
  const { kind, hidden: H, layers: L } = mdl.config;
  const gates = saturatingGates(kind);
  if (gates.length === 0) throw new Error(`A ${kind.toUpperCase()} has no gates to saturate.`);
  // Counts accumulated file by file (concatenating every gate of a large sample would not fit).
  const left = new Map<string, Float64Array>();
  const right = new Map<string, Float64Array>();
  let steps = 0;
  const parts = capSources(m.sources, m.maxChars);
  for (const p of parts) {
    const ids = mdl.vocab.encode(p.text);
    const n = ids.length;
    const run = mdl.run(ids, mdl.zeroState(), { record: true });
    for (let layer = 1; layer <= L; layer++) {
      for (const g of gates) {
        const key = `${layer}/${g}`;
        const s = gateSaturation(quantityValues(kind, run.layers![layer - 1], g, H, n), H);
        const l = left.get(key) ?? new Float64Array(H);
        const r = right.get(key) ?? new Float64Array(H);
        for (let u = 0; u < H; u++) {
          l[u] += s.left[u] * n;
          r[u] += s.right[u] * n;
        }
        left.set(key, l);
        right.set(key, r);
      }
    }
    steps += n;
  }
  if (steps === 0) throw new Error('There is no text to analyse.');
  const clouds: SaturationCloud[] = [];
  for (let layer = 1; layer <= L; layer++) {
    for (const g of gates) {
      const key = `${layer}/${g}`;
      clouds.push({
        layer, gate: g, units: H, steps,
        left: Float32Array.from(left.get(key)!, (x) => x / steps),
        right: Float32Array.from(right.get(key)!, (x) => x / steps),
      });
    }
  }
  post({ type: 'saturationComputed', id: m.id, clouds, files: parts.length, chars: steps });
}

/** The worker's answer to each request, by message type (a type without a handler does not compile). */
const handlers: { [K in HostToInference['type']]: (m: Extract<HostToInference, { type: K }>) => Promise<void> | void } = {
  load: loadRequest,
  trace: traceRequest,
  probe: probeRequest,
  spanCells: spanCellsRequest,
  discover: discoverRequest,
  similarSpans: similarSpansRequest,
  saturation: saturationRequest,
};

async function handle(m: HostToInference): Promise<void> {
  await (handlers[m.type] as (m: HostToInference) => Promise<void> | void)(m);
}
