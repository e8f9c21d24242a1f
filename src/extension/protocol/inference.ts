/**
 * The channel between the extension host and the inference worker (activations: traces of the
 * edited text, hover probes, cell discovery, select-to-search, gate saturation). Positions are
 * Unicode code points (the model's symbols). Every request carries an id; the worker answers with
 * the same id (or `failed` with it).
 */
import { cellKind, type ModelSummary } from './runs';
import { arr, f32, f32OrNull, int, num, oneOf, opt, orNull, record, shape, str, validator } from './validation';

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

export const wireState = shape<WireState>({ h: arr(f32), c: arr(f32OrNull) });
const wireStateOrNull = orNull(wireState);
export const inferenceModelInfo = shape<InferenceModelInfo>({
  kind: cellKind, layers: num, hidden: num, embedding: num, vocabSize: num, checkpoint: str, kernel: str, backend: str,
});
const sourceFile = shape<SourceFile>({ path: str, text: str, languageId: str });
const regexConceptSpec = shape<RegexConceptSpec>({ id: str, pattern: str, flags: str });
const symbolProb = shape<PositionProbe['top'][number]>({ symbol: str, prob: num });
export const positionProbe = shape<PositionProbe>({
  layer: int, cell: int, values: record(num), top: arr(symbolProb), next: (v) => v === null || symbolProb(v),
});
export const spanCellResult = shape<SpanCellResult>({ layer: int, cell: int, score: num, meanInside: num, meanOutside: num });
const scoreKind = oneOf('auc', 'correlation');
const rankedCellResult = shape<RankedCellResult>({ layer: int, quantity: str, cell: int, score: num, direction: num, scoreKind });
const conceptRankingResult = shape<ConceptRankingResult>({
  concept: str, title: str, kind: oneOf('binary', 'count'), scoreKind, positions: num, positives: opt(num), skipped: opt(str), cells: arr(rankedCellResult),
});
export const discoveryResult = shape<DiscoveryResult>({ rankings: arr(conceptRankingResult), files: num, chars: num, labellers: record(num), seconds: num });
const similarSpanResult = shape<SimilarSpanResult>({ source: int, start: int, end: int, score: num });
const saturationCloud = shape<SaturationCloud>({ layer: int, gate: str, units: int, steps: num, left: f32, right: f32 });

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
