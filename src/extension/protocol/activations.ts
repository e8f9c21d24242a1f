/**
 * The channel between the extension host and the activations webview: the host sends the model,
 * the shown document, the chosen cell's values and the analyses' results; the panel sends the
 * view the user picks, hovers, the lines in sight and commands to run.
 */
import {
  discoveryResult, inferenceModelInfo, positionProbe, spanCellResult, type DiscoveryResult, type InferenceModelInfo, type PositionProbe, type SpanCellResult,
} from './inference';
import { arr, bool, f32, int, num, oneOf, orNull, shape, str, validator } from './validation';
import { ALL_QUANTITIES } from '../../engine/nn/kernels';

/** Which activation the panel and the overlay colour the text with. */
export interface ActivationView {
  /** 1-based. */
  layer: number;
  /** 0-based unit of the layer. */
  cell: number;
  /** One of the model's QUANTITIES (kernels.ts): 'tanh(c)' | 'c' | 'h' | a gate ('i' 'f' 'g' 'o' for LSTM, 'z' 'r' 'n' for GRU). */
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

const activationView = shape<ActivationView>({
  layer: (v) => int(v) && (v as number) >= 1, cell: (v) => int(v) && (v as number) >= 0, quantity: oneOf(...ALL_QUANTITIES), stretch: bool,
});
const colourScaleSpec = shape<ColourScaleSpec>({ lo: num, mid: num, hi: num });
const activationsFont = shape<ActivationsFont>({ family: str, size: num, lineHeight: num, tabSize: num, ligatures: bool });
const shownDocument = shape<ShownDocument>({
  uri: str, version: num, fileName: str, languageId: str, text: str, startCp: int, startLine: int, startColumn: int, selection: bool, revealLine: int,
});
/** Values may arrive as a Float32Array, or as numbers with null for NaN if a channel serialised them as JSON. */
const valuesArray = (v: unknown): boolean => f32(v) || arr((x) => x === null || num(x))(v);
const cellsResult = shape<CellsResultMessage>({ scope: str, discovery: discoveryResult });
const hereResult = shape<HereResultMessage>({ fileName: str, line: int, snippet: str, quantity: str, cells: arr(spanCellResult) });
const saturationResult = shape<SaturationResultMessage>({
  scope: str, files: num, chars: num,
  clouds: arr(shape<SaturationResultMessage['clouds'][number]>({ layer: int, gate: str, units: int, steps: num, left: arr(num), right: arr(num) })),
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
