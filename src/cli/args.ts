/**
 * Command-line options: every option is declared once with its type, default, range and one-line
 * help, so the help text and the parser cannot disagree; `lstm-lab train`'s options come from the
 * engine's schema (schemaOption). Unknown or malformed options, and numbers out of their range, are
 * a UsageError.
 */
import { ConfigOption, defaultText, rangeText } from '../engine/training/options';

export type OptionType = 'string' | 'int' | 'number' | 'bool';

export interface OptionSpec {
  name: string; // without the leading --
  type: OptionType;
  help: string;
  default?: string | number | boolean;
  choices?: string[];
  /** Smallest and largest value a number may take (inclusive); the help shows them. */
  min?: number;
  max?: number;
  /** The range the help shows instead of min–max: one the engine checks (see schemaOption). */
  helpRange?: string;
  /** The default the help shows when the parser sets none: the engine's, or a resumed run's own. */
  helpDefault?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

export function parseArgs(argv: string[], specs: OptionSpec[], positionals: { name: string; required: boolean }[]): { positional: Record<string, string | undefined>; options: ParsedOptions } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedOptions = {};
  for (const s of specs) if (s.default !== undefined) options[s.name] = s.default;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      pos.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '--') {
      pos.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = byName.get(name) ?? (name.startsWith('no-') ? byName.get(name.slice(3)) : undefined);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'bool') {
      options[spec.name] = value === undefined ? !name.startsWith('no-') : value !== 'false' && value !== '0';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    options[spec.name] = convert(spec, value);
  }
  const positional: Record<string, string | undefined> = {};
  positionals.forEach((p, idx) => {
    if (idx < pos.length) positional[p.name] = pos[idx];
    else if (p.required) throw new UsageError(`missing ${p.name.toUpperCase()}`);
  });
  if (pos.length > positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(pos[positionals.length])}`);
  return { positional, options };
}

function convert(spec: OptionSpec, v: string): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(v)) throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')} (got ${JSON.stringify(v)})`);
    return v;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${spec.name} needs a number (got ${JSON.stringify(v)})`);
  if (spec.type === 'int' && !Number.isInteger(n)) throw new UsageError(`--${spec.name} needs a whole number (got ${v})`);
  const low = spec.min !== undefined && n < spec.min, high = spec.max !== undefined && n > spec.max;
  if (low || high) {
    if (spec.max === undefined) throw new UsageError(`--${spec.name} must be at least ${spec.min} (got ${v})`);
    if (spec.min === undefined) throw new UsageError(`--${spec.name} must be at most ${spec.max} (got ${v})`);
    throw new UsageError(`--${spec.name} must be from ${spec.min} to ${spec.max} (got ${v})`);
  }
  return n;
}

/** The range of a number option as the help shows it: "1–64", "≥ 0", "≤ 9" or ''. */
function specRangeText(s: OptionSpec): string {
  if (s.min !== undefined && s.max !== undefined) return `${s.min}–${s.max}`;
  if (s.min !== undefined) return `≥ ${s.min}`;
  if (s.max !== undefined) return `≤ ${s.max}`;
  return '';
}

export function formatHelp(usage: string, summary: string, specs: OptionSpec[]): string {
  const lines = [`usage: ${usage}`, '', summary, ''];
  // Two spaces at least after the widest "  --name N" (a flag without a value has no " N").
  const width = Math.max(...specs.map((s) => 4 + s.name.length + (s.type === 'bool' ? 0 : 2)), 10) + 2;
  for (const s of specs) {
    const left = `  --${s.name}${s.type === 'bool' ? '' : ' ' + (s.type === 'string' ? 'S' : s.type === 'int' ? 'N' : 'X')}`;
    const shownDefault = s.default !== undefined && s.default !== false ? s.default : s.helpDefault;
    const def = shownDefault !== undefined ? ` (default ${shownDefault})` : '';
    const ch = s.choices ? ` [${s.choices.join('|')}]` : '';
    const shownRange = s.helpRange ?? specRangeText(s);
    const range = shownRange ? ` (${shownRange})` : '';
    lines.push(`${left.padEnd(width)}${s.help}${ch}${range}${def}`);
  }
  return lines.join('\n');
}

/**
 * The command-line option of an entry of the engine's schema (engine/training/options.ts): its flag,
 * type, choices, and help with the automatic rule, range and default. The parser leaves it unset
 * when it is not given, so the engine's default or a resumed run's own applies, and the engine
 * checks its range (a ConfigError that names the setting). `parsed`: the parser fills in the
 * default and checks the range, for what the engine does not check in these units (the corpus
 * limits, the vocabulary cap, the backend). `spec` overrides the derived fields.
 */
export function schemaOption(option: ConfigOption, o: { parsed?: boolean; spec?: Partial<OptionSpec> } = {}): OptionSpec {
  const name = option.flag!;
  const type: OptionType = option.type === 'int' || option.type === 'number' ? option.type : 'string';
  const automatic = option.type !== 'choice' && option.type !== 'list' && option.automatic ? ` (${option.min} = automatic: ${option.automatic})` : '';
  const help = `${option.type === 'list' ? 'comma-separated ' : ''}${option.help}${automatic}`;
  const spec: OptionSpec = { name, type, help, ...(option.type === 'choice' ? { choices: [...option.choices] } : {}) };
  const numeric = option.type === 'int' || option.type === 'number';
  if (o.parsed) {
    if (option.type !== 'list') spec.default = option.default;
    if (numeric) Object.assign(spec, { min: option.min, max: option.max });
  } else {
    if (numeric) spec.helpRange = rangeText(option);
    if (option.type !== 'list') spec.helpDefault = defaultText(option);
  }
  return { ...spec, ...o.spec };
}

/** A comma-separated list of distinct integers in [lo, hi] (`what` names them in the error). */
export function intList(flag: string, spec: string, lo: number, hi: number, what = 'whole numbers'): number[] {
  const parts = spec.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((n) => !Number.isInteger(n) || n < lo || n > hi)) {
    throw new UsageError(`--${flag} must be a comma-separated list of ${what} from ${lo} to ${hi} (got ${JSON.stringify(spec)}).`);
  }
  return [...new Set(values)];
}
