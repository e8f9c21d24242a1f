/**
 * The one schema of what a user can set about a run: per option its type, bounds (or choices),
 * default, one line of help, its `lstm-lab train` flag and its `lstmLab.*` setting. The engine's
 * defaults and validation (nn/config.ts), the CLI's options and help (cli/commands.ts), the editor's
 * prompts and setting fallbacks (extension/) come from here, and test/configurationSchema.test.ts
 * holds package.json's contributes.configuration to it. Data only: no runtime import.
 *
 * Where two surfaces used to disagree the wider engine bounds won (sequence and batch 1–1024,
 * workers 0–64, …): a checkpoint or a command valid under them stays valid, and widening a setting
 * invalidates nobody's settings. The default budget is 3 minutes in the CLI and the editor alike.
 */
import type { ModelConfig, TrainConfig } from '../nn/config';

interface OptionBase<V> {
  /** One line, in the CLI's voice; its --help adds the range and the default. */
  help: string;
  /** The value when a user gives none, on the command line and in the settings alike. */
  default: V;
  /**
   * The engine's own default, where a caller of train() that gives nothing (a test, a bench) means
   * something else than a user who gives nothing; with the reason.
   */
  engine?: { default: V; why: string };
  /** The `lstm-lab train` flag, without its --; none: not an option of the command line. */
  flag?: string;
  /** The VS Code setting, without its `lstmLab.` prefix; none: not a setting. */
  setting?: string;
  /** What the editor's input box asks, when the editor asks for it (the range is added). */
  prompt?: string;
}

export interface NumberOption extends OptionBase<number> {
  /** 'int': a whole number. */
  type: 'int' | 'number';
  min: number;
  max: number;
  /** Set when `min` (0) asks for the automatic choice: the rule, in words. */
  automatic?: string;
}

export interface ChoiceOption extends OptionBase<string> {
  type: 'choice';
  choices: readonly string[];
}

/** A list of glob patterns (comma-separated on the command line). */
export interface ListOption extends OptionBase<readonly string[]> {
  type: 'list';
}

export type ConfigOption = NumberOption | ChoiceOption | ListOption;

/** The model's options: ModelConfig's fields, but the vocabulary size, which the corpus sets. */
export const MODEL_OPTIONS = {
  kind: { type: 'choice', choices: ['lstm', 'gru', 'rnn'], default: 'lstm', help: 'recurrent cell', flag: 'model', setting: 'model.kind' },
  layers: { type: 'int', min: 1, max: 4, default: 2, help: 'stacked layers', flag: 'layers', setting: 'model.layers', prompt: 'Layers' },
  hidden: { type: 'int', min: 16, max: 1024, default: 128, help: 'hidden units per layer', flag: 'hidden', setting: 'model.hidden', prompt: 'Hidden units per layer' },
  embedding: { type: 'int', min: 0, max: 1024, default: 0, help: 'embedding size (0 = one-hot input)', flag: 'embedding' },
  dropout: { type: 'number', min: 0, max: 0.9, default: 0.1, help: 'dropout between layers and before the output layer', flag: 'dropout' },
} satisfies Record<keyof Omit<ModelConfig, 'vocabSize'>, ConfigOption>;

/** The peak learning rate of the automatic rule at up to 128 hidden units (automaticLearningRate). */
const PEAK_LEARNING_RATE = 8e-3;

/** The training options: TrainConfig's fields. */
export const TRAIN_OPTIONS = {
  seqLength: {
    type: 'int', min: 1, max: 1024, default: 64, help: 'BPTT truncation length', flag: 'seq', setting: 'train.seqLength',
    prompt: 'Sequence length (characters per BPTT window)',
  },
  batchSize: { type: 'int', min: 1, max: 1024, default: 32, help: 'parallel streams per batch', flag: 'batch', setting: 'train.batchSize' },
  optimizer: { type: 'choice', choices: ['adam', 'rmsprop'], default: 'adam', help: 'optimiser', flag: 'optimizer' },
  learningRate: {
    type: 'number', min: 0, max: 1, default: 0, help: 'peak learning rate', flag: 'lr', setting: 'train.learningRate',
    automatic: `${PEAK_LEARNING_RATE} up to 128 hidden units, ${PEAK_LEARNING_RATE} × 128/hidden above; a resumed run keeps its own`,
    engine: { default: PEAK_LEARNING_RATE, why: 'the automatic rule scales it (automaticLearningRate); a new run given none takes the rule\'s value' },
  },
  lrDecay: { type: 'number', min: 0.01, max: 1, default: 1, help: 'learning-rate factor every --lr-decay-every steps', flag: 'lr-decay' },
  lrDecayEvery: { type: 'int', min: 1, max: 1e9, default: 1000, help: 'steps between learning-rate decays', flag: 'lr-decay-every' },
  lrSchedule: {
    type: 'choice', choices: ['constant', 'cosine', 'linear'], default: 'cosine', flag: 'lr-schedule',
    help: 'learning rate over the budget (--steps or --minutes): decay to --lr-final × --lr along a cosine or a line, or constant',
  },
  lrFinal: { type: 'number', min: 0, max: 1, default: 0.1, help: 'learning rate at the end of the budget, as a fraction of --lr', flag: 'lr-final' },
  lrWarmup: { type: 'int', min: 0, max: 1e9, default: 0, help: 'steps of linear warm-up to --lr', flag: 'lr-warmup' },
  gradClip: { type: 'number', min: 0, max: 1e6, default: 5, help: 'clip gradients to this global norm (0 = off)', flag: 'grad-clip' },
  steps: { type: 'int', min: 0, max: 1e9, default: 0, help: 'stop at step N of the run, resumes included (0 = no step limit)', flag: 'steps', setting: 'train.steps' },
  minutes: {
    type: 'number', min: 0, max: 1e6, default: 3, flag: 'minutes', setting: 'train.minutes',
    help: 'stop after X minutes of training in all, resumes included (0 = no time limit; with no step limit either, train until stopped)',
    engine: { default: 0, why: 'a caller of train() that gives no budget trains to its steps, or until stopped; the 3 minutes are what a user gets who gives neither steps nor minutes' },
  },
  evalEvery: { type: 'int', min: 1, max: 1e9, default: 100, help: 'evaluate and checkpoint every N steps', flag: 'eval-every', setting: 'train.evalEvery' },
  evalChars: { type: 'int', min: 0, max: 1e9, default: 50_000, help: 'validation characters per evaluation (0 = all)', flag: 'eval-chars' },
  // The CLI's --sample-chars is the length of the one sample it prints at the end (commands.ts).
  sampleChars: { type: 'int', min: 0, max: 100_000, default: 200, help: 'length of the sample at each evaluation (0 = none)' },
  seed: { type: 'int', min: 0, max: 2 ** 31 - 1, default: 1, help: 'random seed', flag: 'seed' },
  workers: {
    type: 'int', min: 0, max: 64, default: 0, flag: 'workers', setting: 'train.workers',
    help: 'data-parallel worker threads, each with its own engine and batch/N of the streams',
    automatic: '2 on the native backend with 2 or more cores, else 1',
    engine: { default: 1, why: 'a caller of train() that gives none trains on its own thread, the same on every machine' },
  },
} satisfies Record<keyof TrainConfig, ConfigOption>;

/** The options of a run besides its model and training: the backend and the vocabulary. */
export const RUN_OPTIONS = {
  backend: { type: 'choice', choices: ['auto', 'native', 'node', 'wasm', 'cpu'], default: 'auto', help: 'TF.js backend', flag: 'backend', setting: 'train.backend' },
  maxVocabulary: { type: 'int', min: 2, max: 65536, default: 256, help: 'vocabulary size cap, unknown symbol included', flag: 'max-vocab' },
} satisfies Record<string, ConfigOption>;

/** What is read to train on. */
export const CORPUS_OPTIONS = {
  include: { type: 'list', default: [], help: 'globs of files to read (none: source code and text)', flag: 'include', setting: 'corpus.include' },
  exclude: { type: 'list', default: [], help: 'globs to skip', flag: 'exclude', setting: 'corpus.exclude' },
  maxFileKB: { type: 'int', min: 1, max: 102_400, default: 1024, help: 'skip files larger than this (KB)', flag: 'max-file-kb', setting: 'corpus.maxFileKB' },
  maxTotalMB: { type: 'number', min: 0.01, max: 1000, default: 50, help: 'stop reading at this total (MB)', flag: 'max-total-mb', setting: 'corpus.maxTotalMB' },
} satisfies Record<string, ConfigOption>;

/** Every option of the schema, in the order the CLI's --help lists them. */
export const ALL_OPTIONS: readonly ConfigOption[] = [
  ...Object.values(MODEL_OPTIONS), ...Object.values(TRAIN_OPTIONS), ...Object.values(RUN_OPTIONS), ...Object.values(CORPUS_OPTIONS),
];

/** The option's name in a message: its setting (`lstmLab.train.seqLength`), else its engine field. */
export function optionName(option: ConfigOption, field: string): string {
  return option.setting ? `lstmLab.${option.setting}` : field;
}

/** A bound as people read it: 1e9 rather than 1000000000. */
function bound(n: number): string {
  return n >= 1e6 && Number.isInteger(Math.log10(n)) ? `1e${Math.log10(n)}` : String(n);
}

/** The range of a number option as help and prompts show it: "1–1024". */
export function rangeText(option: NumberOption): string {
  return `${bound(option.min)}–${bound(option.max)}`;
}

/** The default a user gets, in words: "automatic" for the automatic choice. */
export function defaultText(option: ConfigOption): string {
  if (option.type === 'list') return option.default.length ? option.default.join(',') : 'none';
  if (option.type !== 'choice' && option.automatic !== undefined && option.default === option.min) return 'automatic';
  return String(option.default);
}

/** Why a value is out of its option's range, or null when it is in it. */
export function rangeProblem(option: ConfigOption, value: unknown): string | null {
  if (option.type === 'choice') {
    if (typeof value === 'string' && option.choices.includes(value)) return null;
    return `must be ${option.choices.slice(0, -1).join(', ')} or ${option.choices[option.choices.length - 1]}`;
  }
  if (option.type === 'list') return Array.isArray(value) && value.every((v) => typeof v === 'string') ? null : 'must be a list of glob patterns';
  const ok = typeof value === 'number' && Number.isFinite(value) && (option.type === 'number' || Number.isInteger(value)) && value >= option.min && value <= option.max;
  if (ok) return null;
  const automatic = option.automatic !== undefined ? ` (${option.min} = automatic)` : '';
  return `must be ${option.type === 'int' ? 'a whole number' : 'a number'} from ${option.min} to ${option.max}${automatic}`;
}
