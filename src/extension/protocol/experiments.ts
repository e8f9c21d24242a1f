/**
 * The channel between the extension host and the experiments panel (`lstmLab.experiments`): the
 * paper's experiments as the command line computes them — architecture comparisons (`lstm-lab
 * compare`), the error onion (`lstm-lab errors`), long-range brackets (`lstm-lab brackets`) and
 * gradient flow (`lstm-lab gradients`). The host sends one snapshot of everything the panel shows;
 * the panel asks for new experiments, a cancel, exports and the file colouring.
 *
 * The figures are the command line's own JSON (the same numbers `--json` prints); each view carries
 * the command that reproduces it.
 */
import type { NetworkRow, NGramRow } from '../../analysis/architectureComparison';
import { arr, bool, isObj, num, numOrNull, oneOf, opt, orNull, shape, str, validator, type Check } from './validation';

export type ExperimentKind = 'errors' | 'brackets' | 'gradients';

/** The rows of a comparison's table: the command line's own (a type-only import: nothing of the analysis reaches a bundle). */
export type ComparisonNetworkRow = NetworkRow;
export type ComparisonNGramRow = NGramRow;

export interface ComparisonCurve {
  runId: string;
  /** "LSTM 2×128". */
  label: string;
  state: 'started' | 'done';
  points: { step: number; chars: number; seconds: number; trainLoss: number; valLoss: number }[];
}

export interface ComparisonView {
  id: string;
  dir: string;
  corpus: string;
  /** What the grid is, in words ("lstm, gru, rnn × 1, 2 layers × 128, 1,500 steps each"). */
  grid: string;
  /** Runs in the grid, and how many are done. */
  total: number;
  done: number;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  /** Why it failed (the command line's message). */
  message: string | null;
  table: (ComparisonNetworkRow | ComparisonNGramRow)[];
  curves: ComparisonCurve[];
  command: string;
}

export interface OnionView {
  kind: 'errors';
  chars: number;
  errors: number;
  categories: { name: string; errors: number }[];
}

export interface BracketsView {
  kind: 'brackets';
  closers: number;
  unmatched: number;
  ngramOrder: number;
  bins: { distance: [number, number]; count: number; network: number; ngram: number }[];
}

export interface GradientsView {
  kind: 'gradients';
  cell: string;
  lags: number;
  positions: number;
  layers: { layer: number; norms: number[]; cellNorms?: number[] }[];
}

export interface AnalysisView {
  id: string;
  /** "LSTM 2×128 · run 2026-12-03-…". */
  model: string;
  checkpoint: string;
  /** What was analysed: a file or folder. */
  target: string;
  createdAt: string;
  seconds: number;
  command: string;
  /** Whether the editor shows this onion's colouring on its file now. */
  colouring: boolean;
  result: OnionView | BracketsView | GradientsView;
}

export interface ExperimentsState {
  comparisons: ComparisonView[];
  analyses: AnalysisView[];
  /** The experiment running now (one at a time), or null. */
  busy: { what: string; detail: string; fraction: number | null } | null;
  /** The active model the analyses run on, or null when there is none. */
  activeModel: string | null;
}

export type ExperimentsToHost =
  | { type: 'ready' }
  | { type: 'compare' }
  /** Go on with a cancelled or interrupted comparison where it stopped. */
  | { type: 'continueComparison'; id: string }
  | { type: 'analyse'; kind: ExperimentKind }
  | { type: 'cancel' }
  | { type: 'exportTable'; id: string; format: 'csv' | 'md' }
  | { type: 'colourFile'; id: string; on: boolean }
  | { type: 'remove'; id: string }
  | { type: 'log'; level: 'info' | 'error'; message: string };

export type HostToExperiments = { type: 'state'; state: ExperimentsState };

export const isExperimentsToHost = validator<ExperimentsToHost>({
  ready: {},
  compare: {},
  continueComparison: { id: str },
  analyse: { kind: oneOf('errors', 'brackets', 'gradients') },
  cancel: {},
  exportTable: { id: str, format: oneOf('csv', 'md') },
  colourFile: { id: str, on: bool },
  remove: { id: str },
  log: { level: oneOf('info', 'error'), message: str },
});

const nums = arr(num);
const points = arr(shape<ComparisonCurve['points'][number]>({ step: num, chars: num, seconds: num, trainLoss: num, valLoss: num }));
const networkRow = shape<ComparisonNetworkRow>({
  kind: (v) => v === 'network', model: oneOf('lstm', 'gru', 'rnn'), layers: num, hidden: num, params: num, steps: num, chars: num, trainLoss: numOrNull, valLoss: numOrNull,
  charsPerSec: numOrNull, seconds: num, checkpoint: str, runId: str,
});
const ngramRow = shape<ComparisonNGramRow>({ kind: (v) => v === 'ngram', order: num, valLoss: num, size: num });
const comparisonView = shape<ComparisonView>({
  id: str, dir: str, corpus: str, grid: str, total: num, done: num, status: oneOf('running', 'done', 'cancelled', 'failed'), message: orNull(str),
  table: arr((v) => networkRow(v) || ngramRow(v)),
  curves: arr(shape<ComparisonCurve>({ runId: str, label: str, state: oneOf('started', 'done'), points })),
  command: str,
});
const onionView = shape<OnionView>({ kind: (v) => v === 'errors', chars: num, errors: num, categories: arr(shape<OnionView['categories'][number]>({ name: str, errors: num })) });
const bracketsView = shape<BracketsView>({
  kind: (v) => v === 'brackets', closers: num, unmatched: num, ngramOrder: num,
  bins: arr(shape<BracketsView['bins'][number]>({ distance: (v) => Array.isArray(v) && v.length === 2 && v.every(num), count: num, network: num, ngram: num })),
});
const gradientsView = shape<GradientsView>({
  kind: (v) => v === 'gradients', cell: str, lags: num, positions: num,
  layers: arr(shape<GradientsView['layers'][number]>({ layer: num, norms: nums, cellNorms: opt(nums) })),
});
export const isAnalysisResult: Check = (v) => isObj(v) && (v.kind === 'errors' ? onionView(v) : v.kind === 'brackets' ? bracketsView(v) : gradientsView(v));
const analysisView = shape<AnalysisView>({ id: str, model: str, checkpoint: str, target: str, createdAt: str, seconds: num, command: str, colouring: bool, result: isAnalysisResult });
const experimentsState = shape<ExperimentsState>({
  comparisons: arr(comparisonView),
  analyses: arr(analysisView),
  busy: orNull(shape<NonNullable<ExperimentsState['busy']>>({ what: str, detail: str, fraction: numOrNull })),
  activeModel: orNull(str),
});

export const isHostToExperiments = validator<HostToExperiments>({ state: { state: experimentsState } });

/**
 * The onion's categories in the paper's order (ERROR_CATEGORIES of src/analysis/errorOnion.ts), each
 * with its colour in the panel's bars and in the file colouring: translucent, so code stays readable
 * in light and dark themes.
 */
export const ONION_COLOURS: readonly { name: string; background: string; ruler: string }[] = [
  { name: 'n-gram', background: 'rgba(64, 132, 255, 0.30)', ruler: 'rgba(64, 132, 255, 0.8)' },
  { name: 'dynamic memory', background: 'rgba(0, 170, 120, 0.30)', ruler: 'rgba(0, 170, 120, 0.8)' },
  { name: 'rare words', background: 'rgba(230, 150, 0, 0.32)', ruler: 'rgba(230, 150, 0, 0.8)' },
  { name: 'word model', background: 'rgba(170, 90, 220, 0.30)', ruler: 'rgba(170, 90, 220, 0.8)' },
  { name: 'punctuation', background: 'rgba(120, 120, 120, 0.32)', ruler: 'rgba(120, 120, 120, 0.8)' },
  { name: 'boost', background: 'rgba(230, 60, 60, 0.30)', ruler: 'rgba(230, 60, 60, 0.8)' },
];

/** What each category means (the hover of a coloured character, the panel's legend). */
export const ONION_CATEGORY_HELP: Record<string, string> = {
  'n-gram': 'an n-gram oracle (orders up to 20, built on the training text) gives the right character p ≥ 0.5',
  'dynamic memory': 'it completes a string that already occurred earlier in this text: a model that remembers the document would copy it',
  'rare words': 'inside a word seen at most 5 times in the training text',
  'word model': 'the first character of a word: which word comes next',
  punctuation: 'an ASCII punctuation character',
  boost: 'the rest: errors only a better model in general would remove',
};
