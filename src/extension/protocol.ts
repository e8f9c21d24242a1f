/**
 * The one message protocol of LSTM Lab: every message between the extension host, the training
 * worker and the webviews is declared here, and each side validates what it receives with the
 * validators below (a message of the wrong shape is ignored and logged, never acted on).
 *
 * This module imports nothing from `vscode` or the engine at run time, so the webview bundles,
 * the worker and the host all import it.
 */

// ---------------------------------------------------------------------------------------------
// Shared shapes

export type CellKind = 'lstm' | 'gru' | 'rnn';
export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

export interface ModelSummary {
  kind: CellKind;
  layers: number;
  hidden: number;
  embedding: number;
}

/** One evaluation, as stored in a run's metrics.jsonl. Losses in nats per character. */
export interface EvalPoint {
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  valLoss: number;
}

/** A live training-loss reading between evaluations. */
export interface ProgressPoint {
  step: number;
  chars: number;
  seconds: number;
  trainLoss: number;
  /** The learning rate of this step (the schedule over the run's budget). */
  learningRate: number;
}

export interface RunSummary {
  runId: string;
  dir: string;
  model: ModelSummary;
  parameters: number;
  backend: string;
  corpus: string;
  status: RunStatus;
  startedAt: string;
  durationSeconds: number;
  charsPerSec: number;
  bestValLoss: number | null;
  /** The latest learning rate (the schedule over the run's budget); null before the first reading. */
  learningRate: number | null;
  step: number;
  evals: EvalPoint[];
  lastSample?: string;
}

// ---------------------------------------------------------------------------------------------
// Host ↔ training worker

export interface TrainRequest {
  /** Folders or files to read, all into one corpus. */
  corpusPaths: string[];
  corpusOptions: { include?: string[]; exclude?: string[]; maxFileBytes?: number; maxTotalBytes?: number };
  model: ModelSummary & { dropout: number };
  /** workers: data-parallel threads, 0 = automatic (see trainingWorker.ts). */
  train: { seqLength: number; batchSize: number; learningRate: number; steps: number; minutes: number; evalEvery: number; sampleChars: number; seed: number; workers: number };
  outDir: string;
  runId?: string;
  /** Continue this run folder instead of starting one. */
  resume?: string;
  backend: 'auto' | 'native' | 'node' | 'wasm' | 'cpu';
}

export type HostToWorker = { type: 'train'; request: TrainRequest } | { type: 'cancel' };

export type WorkerToHost =
  | { type: 'log'; line: string }
  | { type: 'corpus'; summary: string; files: number; chars: number; skipped: Record<string, number> }
  | { type: 'started'; run: RunSummary }
  | { type: 'progress'; runId: string; point: ProgressPoint; charsPerSec: number; fraction: number | null; etaSeconds: number | null }
  | { type: 'eval'; runId: string; point: EvalPoint; charsPerSec: number; valBitsPerChar: number; valPerplexity: number }
  | { type: 'sample'; runId: string; step: number; text: string }
  | { type: 'checkpoint'; runId: string; step: number; role: 'best' | 'last'; path: string }
  | { type: 'warning'; runId: string; message: string }
  | { type: 'done'; runId: string; status: RunStatus; checkpoint: string; bestValLoss: number | null; step: number; seconds: number }
  | { type: 'failed'; runId: string | null; message: string };

// ---------------------------------------------------------------------------------------------
// Host ↔ training dashboard webview

export type Metric = 'nats' | 'bits' | 'perplexity';
export type XAxis = 'step' | 'chars' | 'seconds';

export type DashboardToHost =
  | { type: 'ready' }
  | { type: 'exportCsv'; runId: string }
  | { type: 'savePng'; dataUrl: string }
  | { type: 'openRunFolder'; runId: string }
  | { type: 'log'; level: 'info' | 'error'; message: string };

export type HostToDashboard =
  /** The full picture: sent on ready and whenever the set of runs changes. */
  | { type: 'runs'; runs: RunSummary[]; activeRunId: string | null }
  | { type: 'runUpdated'; run: RunSummary }
  | { type: 'progress'; runId: string; point: ProgressPoint; charsPerSec: number; fraction: number | null }
  | { type: 'eval'; runId: string; point: EvalPoint }
  | { type: 'sample'; runId: string; step: number; text: string };

// ---------------------------------------------------------------------------------------------
// Host ↔ inference worker (activations: traces of the edited text, hover probes, cell discovery,
// select-to-search, gate saturation). Positions are Unicode code points (the model's symbols).
// Every request carries an id; the worker answers with the same id (or `failed` with it).

/** A model state on the wire: per layer h [H] and c [H] (null for GRU/RNN). */
export interface WireState {
  h: Float32Array[];
  c: (Float32Array | null)[];
}

export interface InferenceModelInfo extends ModelSummary {
  vocabSize: number;
  checkpoint: string;
  /** Recurrence kernels in use ('native' or 'js'). */
  kernel: string;
  backend: string;
}

/** A text to analyse: a workspace file or the open document. */
export interface SourceFile {
  path: string;
  text: string;
  languageId: string;
}

/** A user concept from a regular expression. */
export interface RegexConceptSpec {
  id: string;
  pattern: string;
  flags: string;
}

/** What one position of the text holds for one cell (hover). */
export interface PositionProbe {
  layer: number;
  cell: number;
  /** Every quantity of that cell at the position: tanh(c), c, h and each gate. */
  values: Record<string, number>;
  /** The model's most likely next symbols after the position, best first. */
  top: { symbol: string; prob: number }[];
  /** The symbol that actually follows in the text, and its probability (null at the end). */
  next: { symbol: string; prob: number } | null;
}

export interface SpanCellResult {
  layer: number;
  cell: number;
  /** meanInside − meanOutside. */
  score: number;
  meanInside: number;
  meanOutside: number;
}

export interface RankedCellResult {
  layer: number;
  quantity: string;
  cell: number;
  score: number;
  direction: number;
  scoreKind: 'auc' | 'correlation';
}

export interface ConceptRankingResult {
  concept: string;
  title: string;
  kind: 'binary' | 'count';
  scoreKind: 'auc' | 'correlation';
  positions: number;
  positives?: number;
  skipped?: string;
  cells: RankedCellResult[];
}

export interface DiscoveryResult {
  rankings: ConceptRankingResult[];
  files: number;
  chars: number;
  labellers: Record<string, number>;
  seconds: number;
}

export interface SimilarSpanResult {
  /** Index into the request's sources. */
  source: number;
  start: number;
  /** Exclusive. */
  end: number;
  score: number;
}

export interface SaturationCloud {
  layer: number;
  gate: string;
  units: number;
  steps: number;
  left: Float32Array;
  right: Float32Array;
}

export type HostToInference =
  | { type: 'load'; id: number; checkpoint: string }
  /**
   * Run `text` from `state` (null = zero state). `offset` is the code-point position of the text's
   * first symbol in its document: the worker returns the state at every document position that is
   * a multiple of `stride` inside (offset, offset + length], and `layer`'s `quantity` for every
   * position and cell, [length, hidden].
   */
  | { type: 'trace'; id: number; text: string; state: WireState | null; offset: number; stride: number; layer: number; quantity: string }
  /** Run `text` from `state`; describe its last position for `layer`/`cell`; `next` follows it in the document. */
  | { type: 'probe'; id: number; text: string; state: WireState | null; layer: number; cell: number; topK: number; next: string | null }
  /** Rank every cell of every layer by how much more it is on inside [start, end) of `text` than within `margin` around it. */
  | { type: 'spanCells'; id: number; text: string; state: WireState | null; start: number; end: number; margin: number; quantity: string; top: number }
  | { type: 'discover'; id: number; sources: SourceFile[]; top: number; maxChars: number; quantity: string; extra: RegexConceptSpec[] }
  | { type: 'similarSpans'; id: number; sources: SourceFile[]; layer: number; quantity: string; cells: number[]; threshold: number; minLength: number; limit: number; maxChars: number }
  | { type: 'saturation'; id: number; sources: SourceFile[]; maxChars: number };

export type InferenceToHost =
  | { type: 'loaded'; id: number; model: InferenceModelInfo }
  | { type: 'traced'; id: number; length: number; units: number; values: Float32Array; anchorAt: number[]; anchors: WireState[]; state: WireState; ms: number }
  | { type: 'probed'; id: number; probe: PositionProbe }
  | { type: 'spanCellsFound'; id: number; cells: SpanCellResult[] }
  | { type: 'discovered'; id: number; discovery: DiscoveryResult }
  | { type: 'similarSpansFound'; id: number; matches: SimilarSpanResult[]; files: number; chars: number }
  | { type: 'saturationComputed'; id: number; clouds: SaturationCloud[]; files: number; chars: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'log'; line: string };

// ---------------------------------------------------------------------------------------------
// Host ↔ activations webview

/** Which activation the panel and the overlay colour the text with. */
export interface ActivationView {
  /** 1-based. */
  layer: number;
  /** 0-based unit of the layer. */
  cell: number;
  /** 'tanh(c)' | 'c' | 'h' | a gate ('i' 'f' 'g' 'o' for LSTM, 'z' 'r' 'n' for GRU). */
  quantity: string;
  /** Stretch the colour scale over the cell's own range in the text (for cells that saturate). */
  stretch: boolean;
}

/** The colour scale: `mid` is neutral, `lo` full blue, `hi` full red. */
export interface ColourScaleSpec {
  lo: number;
  mid: number;
  hi: number;
}

export type ActivationsTab = 'text' | 'cells' | 'here' | 'saturation';

export interface ActivationsFont {
  family: string;
  size: number;
  /** Pixels. */
  lineHeight: number;
  tabSize: number;
  ligatures: boolean;
}

export interface ShownDocument {
  /** The document's URI. */
  uri: string;
  version: number;
  fileName: string;
  languageId: string;
  /** The text shown: the whole document or the selection (whole lines are not added). */
  text: string;
  /** Code-point position in the document of the first symbol shown. */
  startCp: number;
  /** 0-based line of the first symbol shown, and its column in code points. */
  startLine: number;
  startColumn: number;
  selection: boolean;
  /** 0-based line (in the shown text) to scroll to. */
  revealLine: number;
}

export interface CellsResultMessage {
  scope: string;
  discovery: DiscoveryResult;
}

export interface HereResultMessage {
  fileName: string;
  line: number;
  snippet: string;
  quantity: string;
  cells: SpanCellResult[];
}

export interface SaturationResultMessage {
  scope: string;
  files: number;
  chars: number;
  clouds: { layer: number; gate: string; units: number; steps: number; left: number[]; right: number[] }[];
}

export type HostToActivations =
  /** The active model, or null with the reason (no model yet, failed to load). */
  | { type: 'model'; model: InferenceModelInfo | null; message: string | null }
  | { type: 'font'; font: ActivationsFont }
  | { type: 'view'; view: ActivationView }
  | { type: 'document'; document: ShownDocument | null }
  /** The chosen cell's values for shown positions [start, start + values.length) (NaN = not traced yet). */
  | { type: 'values'; uri: string; version: number; view: ActivationView; scale: ColourScaleSpec; start: number; values: Float32Array; complete: boolean; status: string }
  | { type: 'probe'; uri: string; version: number; position: number; probe: PositionProbe }
  | { type: 'overlay'; on: boolean }
  | { type: 'busy'; message: string | null }
  | { type: 'cells'; result: CellsResultMessage | null }
  | { type: 'here'; result: HereResultMessage | null }
  | { type: 'saturation'; result: SaturationResultMessage | null }
  | { type: 'showTab'; tab: ActivationsTab }
  /** The editor scrolled: show this line (0-based, of the shown text) at the top. */
  | { type: 'scrollTo'; uri: string; line: number }
  | { type: 'error'; message: string };

export type ActivationsCommand = 'trainOnWorkspace' | 'findInterpretableCells' | 'findCellsActiveHere' | 'findSimilarSpans' | 'showGateSaturation';

export type ActivationsToHost =
  | { type: 'ready' }
  | { type: 'setView'; view: ActivationView }
  /** Hover or keyboard focus on a shown position (code points from the start of the shown text). */
  | { type: 'probe'; uri: string; version: number; position: number }
  /** Shown lines in the panel, so they are traced first. */
  | { type: 'viewport'; uri: string; firstLine: number; lastLine: number }
  | { type: 'toggleOverlay' }
  | { type: 'reveal'; uri: string; position: number }
  | { type: 'runCommand'; command: ActivationsCommand }
  | { type: 'addConcept'; pattern: string; flags: string }
  | { type: 'log'; level: 'info' | 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Validation: small structural checks, one per message type.

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && !Number.isNaN(v);
const numOrNull: Check = (v) => v === null || num(v);

const opt = (c: Check): Check => (v) => v === undefined || c(v);
const arr = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const oneOf = (...xs: string[]): Check => (v) => typeof v === 'string' && xs.includes(v);
const shape = (fields: Record<string, Check>): Check => (v) => isObj(v) && Object.entries(fields).every(([k, c]) => c(v[k]));
const record = (c: Check): Check => (v) => isObj(v) && Object.values(v).every(c);

const modelSummary = shape({ kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num });
const evalPoint = shape({ step: num, chars: num, seconds: num, trainLoss: num, valLoss: num });
const progressPoint = shape({ step: num, chars: num, seconds: num, trainLoss: num, learningRate: num });
const runStatus = oneOf('running', 'finished', 'cancelled', 'failed');
const runSummary = shape({
  runId: str, dir: str, model: modelSummary, parameters: num, backend: str, corpus: str, status: runStatus, startedAt: str,
  durationSeconds: num, charsPerSec: num, bestValLoss: numOrNull, learningRate: numOrNull, step: num, evals: arr(evalPoint), lastSample: opt(str),
});
const trainRequest = shape({
  corpusPaths: arr(str),
  corpusOptions: shape({ include: opt(arr(str)), exclude: opt(arr(str)), maxFileBytes: opt(num), maxTotalBytes: opt(num) }),
  model: shape({ kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num, dropout: num }),
  train: shape({ seqLength: num, batchSize: num, learningRate: num, steps: num, minutes: num, evalEvery: num, sampleChars: num, seed: num, workers: num }),
  outDir: str, runId: opt(str), resume: opt(str), backend: oneOf('auto', 'native', 'node', 'wasm', 'cpu'),
});

function validator<T extends { type: string }>(table: Record<string, Record<string, Check>>): (v: unknown) => v is T {
  return (v: unknown): v is T => {
    if (!isObj(v) || typeof v.type !== 'string') return false;
    const fields = table[v.type];
    return fields !== undefined && Object.entries(fields).every(([k, c]) => c(v[k]));
  };
}

export const isHostToWorker = validator<HostToWorker>({
  train: { request: trainRequest },
  cancel: {},
});

export const isWorkerToHost = validator<WorkerToHost>({
  log: { line: str },
  corpus: { summary: str, files: num, chars: num, skipped: record(num) },
  started: { run: runSummary },
  progress: { runId: str, point: progressPoint, charsPerSec: num, fraction: numOrNull, etaSeconds: numOrNull },
  eval: { runId: str, point: evalPoint, charsPerSec: num, valBitsPerChar: num, valPerplexity: num },
  sample: { runId: str, step: num, text: str },
  checkpoint: { runId: str, step: num, role: oneOf('best', 'last'), path: str },
  warning: { runId: str, message: str },
  done: { runId: str, status: runStatus, checkpoint: str, bestValLoss: numOrNull, step: num, seconds: num },
  failed: { runId: (v) => v === null || str(v), message: str },
});

export const isDashboardToHost = validator<DashboardToHost>({
  ready: {},
  exportCsv: { runId: str },
  savePng: { dataUrl: (v) => typeof v === 'string' && v.startsWith('data:image/png;base64,') },
  openRunFolder: { runId: str },
  log: { level: oneOf('info', 'error'), message: str },
});

export const isHostToDashboard = validator<HostToDashboard>({
  runs: { runs: arr(runSummary), activeRunId: (v) => v === null || str(v) },
  runUpdated: { run: runSummary },
  progress: { runId: str, point: progressPoint, charsPerSec: num, fraction: numOrNull },
  eval: { runId: str, point: evalPoint },
  sample: { runId: str, step: num, text: str },
});

// Activations: inference worker and webview.
const f32: Check = (v) => v instanceof Float32Array;
const int: Check = (v) => Number.isInteger(v);
const bool: Check = (v) => typeof v === 'boolean';
const f32OrNull: Check = (v) => v === null || f32(v);
const wireState = shape({ h: arr(f32), c: arr(f32OrNull) });
const wireStateOrNull: Check = (v) => v === null || wireState(v);
const inferenceModelInfo = shape({
  kind: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, embedding: num, vocabSize: num, checkpoint: str, kernel: str, backend: str,
});
const sourceFile = shape({ path: str, text: str, languageId: str });
const regexConceptSpec = shape({ id: str, pattern: str, flags: str });
const symbolProb = shape({ symbol: str, prob: num });
const positionProbe = shape({
  layer: int, cell: int, values: record(num), top: arr(symbolProb), next: (v) => v === null || symbolProb(v),
});
const spanCellResult = shape({ layer: int, cell: int, score: num, meanInside: num, meanOutside: num });
const scoreKind = oneOf('auc', 'correlation');
const rankedCellResult = shape({ layer: int, quantity: str, cell: int, score: num, direction: num, scoreKind });
const conceptRankingResult = shape({
  concept: str, title: str, kind: oneOf('binary', 'count'), scoreKind, positions: num, positives: opt(num), skipped: opt(str), cells: arr(rankedCellResult),
});
const discoveryResult = shape({ rankings: arr(conceptRankingResult), files: num, chars: num, labellers: record(num), seconds: num });
const similarSpanResult = shape({ source: int, start: int, end: int, score: num });
const saturationCloud = shape({ layer: int, gate: str, units: int, steps: num, left: f32, right: f32 });
const activationView = shape({
  layer: (v) => int(v) && (v as number) >= 1, cell: (v) => int(v) && (v as number) >= 0, quantity: oneOf('tanh(c)', 'c', 'h', 'i', 'f', 'g', 'o', 'z', 'r', 'n'), stretch: bool,
});
const colourScaleSpec = shape({ lo: num, mid: num, hi: num });
const activationsFont = shape({ family: str, size: num, lineHeight: num, tabSize: num, ligatures: bool });
const shownDocument = shape({
  uri: str, version: num, fileName: str, languageId: str, text: str, startCp: int, startLine: int, startColumn: int, selection: bool, revealLine: int,
});
/** Values may arrive as a Float32Array, or as numbers with null for NaN if a channel serialised them as JSON. */
const valuesArray: Check = (v) => f32(v) || arr((x) => x === null || num(x))(v);
const cellsResult = shape({ scope: str, discovery: discoveryResult });
const hereResult = shape({ fileName: str, line: int, snippet: str, quantity: str, cells: arr(spanCellResult) });
const saturationResult = shape({
  scope: str, files: num, chars: num,
  clouds: arr(shape({ layer: int, gate: str, units: int, steps: num, left: arr(num), right: arr(num) })),
});
const orNull = (c: Check): Check => (v) => v === null || c(v);

export const isHostToInference = validator<HostToInference>({
  load: { id: int, checkpoint: str },
  trace: { id: int, text: str, state: wireStateOrNull, offset: int, stride: (v) => int(v) && (v as number) > 0, layer: int, quantity: str },
  probe: { id: int, text: str, state: wireStateOrNull, layer: int, cell: int, topK: int, next: orNull(str) },
  spanCells: { id: int, text: str, state: wireStateOrNull, start: int, end: int, margin: int, quantity: str, top: int },
  discover: { id: int, sources: arr(sourceFile), top: int, maxChars: int, quantity: str, extra: arr(regexConceptSpec) },
  similarSpans: { id: int, sources: arr(sourceFile), layer: int, quantity: str, cells: arr(int), threshold: num, minLength: int, limit: int, maxChars: int },
  saturation: { id: int, sources: arr(sourceFile), maxChars: int },
});

export const isInferenceToHost = validator<InferenceToHost>({
  loaded: { id: int, model: inferenceModelInfo },
  traced: { id: int, length: int, units: int, values: f32, anchorAt: arr(int), anchors: arr(wireState), state: wireState, ms: num },
  probed: { id: int, probe: positionProbe },
  spanCellsFound: { id: int, cells: arr(spanCellResult) },
  discovered: { id: int, discovery: discoveryResult },
  similarSpansFound: { id: int, matches: arr(similarSpanResult), files: num, chars: num },
  saturationComputed: { id: int, clouds: arr(saturationCloud), files: num, chars: num },
  failed: { id: int, message: str },
  log: { line: str },
});

export const isHostToActivations = validator<HostToActivations>({
  model: { model: orNull(inferenceModelInfo), message: orNull(str) },
  font: { font: activationsFont },
  view: { view: activationView },
  document: { document: orNull(shownDocument) },
  values: { uri: str, version: num, view: activationView, scale: colourScaleSpec, start: int, values: valuesArray, complete: bool, status: str },
  probe: { uri: str, version: num, position: int, probe: positionProbe },
  overlay: { on: bool },
  busy: { message: orNull(str) },
  cells: { result: orNull(cellsResult) },
  here: { result: orNull(hereResult) },
  saturation: { result: orNull(saturationResult) },
  showTab: { tab: oneOf('text', 'cells', 'here', 'saturation') },
  scrollTo: { uri: str, line: (v) => int(v) && (v as number) >= 0 },
  error: { message: str },
});

export const isActivationsToHost = validator<ActivationsToHost>({
  ready: {},
  setView: { view: activationView },
  probe: { uri: str, version: num, position: (v) => int(v) && (v as number) >= 0 },
  viewport: { uri: str, firstLine: int, lastLine: int },
  toggleOverlay: {},
  reveal: { uri: str, position: (v) => int(v) && (v as number) >= 0 },
  runCommand: { command: oneOf('trainOnWorkspace', 'findInterpretableCells', 'findCellsActiveHere', 'findSimilarSpans', 'showGateSaturation') },
  addConcept: { pattern: (v) => typeof v === 'string' && v.length > 0 && v.length <= 1000, flags: (v) => typeof v === 'string' && /^[imsuy]*$/.test(v) },
  log: { level: oneOf('info', 'error'), message: str },
});

/** Describe a rejected message for the log without dumping it whole. */
export function describeRejected(v: unknown): string {
  const type = isObj(v) && typeof v.type === 'string' ? v.type : typeof v;
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return `message of type ${JSON.stringify(type)} does not fit the protocol: ${text.slice(0, 200)}`;
}


