/**
 * How useful a completer's suggestions are, measured at cursor positions of held-out text (the
 * library behind `lstm-lab complete-eval`, src/cli/completeEval.ts, which says what each measure
 * means):
 *   positions   seeded samples, half at the start of a token, half inside a word token, by the
 *               completers' own token rule (`tokenContinues`, tokens.ts)
 *   suggestions both suggestions of a completer (to the end of the token, to the end of the line)
 *               at every position, beside what the author wrote there
 *   scores      exact matches of each, characters saved per line suggestion
 *   latency     warm (cache one character behind) and cold (no cache), as percentiles
 */
import { codePointWidth, commonPrefixCodePoints, countCodePoints } from '../data/codePoints';
import { Random } from '../nn/random';
import type { Completer, CompletionOptions } from './completer';
import { isWordChar, lineTarget, tokenContinues, tokenTarget } from './tokens';

export type PositionKind = 'start' | 'inside';

export interface EvalPosition {
  file: number;
  offset: number;
  kind: PositionKind;
}

/**
 * Token starts and positions inside word tokens of a text, by the completion engine's token rule:
 * a token starts at a character that is not a space and does not continue the token before it.
 */
export function tokenPositions(text: string): { starts: number[]; inside: number[] } {
  const starts: number[] = [];
  const inside: number[] = [];
  let token = '';
  for (let i = 0; i < text.length; ) {
    const ch = text.slice(i, i + codePointWidth(text, i));
    if (token !== '' && tokenContinues(token, ch)) {
      if (isWordChar(ch)) inside.push(i);
      token += ch;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v' || ch === '\u00a0') {
      token = '';
    } else {
      starts.push(i);
      token = ch;
    }
    i += ch.length;
  }
  return { starts, inside };
}

/** `count` positions, half at token starts and half inside tokens, seeded, in file order. */
export function samplePositions(texts: readonly string[], count: number, seed: number): EvalPosition[] {
  const rng = new Random(seed);
  const pools: Record<PositionKind, EvalPosition[]> = { start: [], inside: [] };
  texts.forEach((t, file) => {
    const p = tokenPositions(t);
    for (const offset of p.starts) pools.start.push({ file, offset, kind: 'start' });
    for (const offset of p.inside) pools.inside.push({ file, offset, kind: 'inside' });
  });
  const pick = (pool: EvalPosition[], n: number): EvalPosition[] => {
    // Partial Fisher–Yates: the first n of a seeded shuffle.
    const a = pool.slice();
    const m = Math.min(n, a.length);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rng.next() * (a.length - i));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, m);
  };
  const half = Math.ceil(count / 2);
  const chosen = [...pick(pools.start, half), ...pick(pools.inside, count - half)];
  return chosen.sort((a, b) => a.file - b.file || a.offset - b.offset);
}

// ---------------------------------------------------------------------------------------------
// Metrics

export interface ModelScores {
  model: 'lstm' | 'ngram';
  positions: number;
  /** Fractions in [0, 1]. */
  tokenExact: number;
  tokenExactAtStart: number;
  tokenExactInside: number;
  lineExact: number;
  /** Mean code points of the line suggestion that match the text (common prefix). */
  charsSavedPerSuggestion: number;
  /** Mean length of the line suggestions (code points). */
  meanLineSuggestion: number;
}

export interface Latency {
  samples: number;
  p50: number;
  p95: number;
  max: number;
}

export interface SuggestionRecord {
  position: EvalPosition;
  token: { target: string; suggestion: string };
  line: { target: string; suggestion: string };
}

/** The scores of one model from its suggestions. */
export function scoreSuggestions(model: 'lstm' | 'ngram', records: readonly SuggestionRecord[]): ModelScores {
  const frac = (xs: readonly SuggestionRecord[], f: (r: SuggestionRecord) => boolean) => (xs.length === 0 ? 0 : xs.filter(f).length / xs.length);
  const tokenHit = (r: SuggestionRecord) => r.token.suggestion === r.token.target;
  const mean = (f: (r: SuggestionRecord) => number) => (records.length === 0 ? 0 : records.reduce((s, r) => s + f(r), 0) / records.length);
  return {
    model,
    positions: records.length,
    tokenExact: frac(records, tokenHit),
    tokenExactAtStart: frac(records.filter((r) => r.position.kind === 'start'), tokenHit),
    tokenExactInside: frac(records.filter((r) => r.position.kind === 'inside'), tokenHit),
    lineExact: frac(records, (r) => r.line.suggestion === r.line.target),
    charsSavedPerSuggestion: mean((r) => commonPrefixCodePoints(r.line.suggestion, r.line.target)),
    meanLineSuggestion: mean((r) => countCodePoints(r.line.suggestion)),
  };
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = samples.slice().sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

/** Percentiles of latency samples (ms). */
export function latencyOf(samples: readonly number[]): Latency {
  return { samples: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples.length ? Math.max(...samples) : NaN };
}

export interface SuggestOptions {
  contextChars: number;
  /** Beam width (1 = greedy). */
  beamWidth: number;
  maxTokenLength: number;
  maxLineLength: number;
}

/** Both suggestions of one completer at every position (the completer's cache keyed by file). */
export function suggestAll(c: Completer, texts: readonly string[], positions: readonly EvalPosition[], o: SuggestOptions, onProgress?: (done: number) => void): SuggestionRecord[] {
  const base: Partial<CompletionOptions> = { temperature: 0, beamWidth: o.beamWidth, contextChars: o.contextChars };
  const out: SuggestionRecord[] = [];
  positions.forEach((p, i) => {
    const req = { key: `eval:${p.file}`, text: texts[p.file], offset: p.offset };
    const tok = c.complete(req, { ...base, stopAt: 'token', maxLength: o.maxTokenLength })!;
    const line = c.complete(req, { ...base, stopAt: 'line', maxLength: o.maxLineLength })!;
    out.push({
      position: p,
      token: { target: tokenTarget(texts[p.file], p.offset), suggestion: tok.text },
      line: { target: lineTarget(texts[p.file], p.offset), suggestion: line.text },
    });
    onProgress?.(i + 1);
  });
  for (let f = 0; f < texts.length; f++) c.forget(`eval:${f}`);
  return out;
}

export interface LatencyOptions {
  length: number;
  beamWidth: number;
  coldContext: number;
  contextChars: number;
}

/**
 * Latency of a `length`-character suggestion (stopAt none), warm (cache at offset − 1) and cold
 * (no cache, exactly `coldContext` characters of text before the cursor). Milliseconds.
 */
export function measureLatency(c: Completer, texts: readonly string[], positions: readonly EvalPosition[], o: LatencyOptions): { warm: number[]; cold: number[] } {
  const warm: number[] = [];
  const cold: number[] = [];
  const opts: Partial<CompletionOptions> = { stopAt: 'none', maxLength: o.length, temperature: 0, beamWidth: o.beamWidth, contextChars: o.contextChars };
  for (const p of positions) {
    const text = texts[p.file];
    const key = `latency:${p.file}`;
    c.prime({ key, text, offset: p.offset - 1 }, opts);
    let t = performance.now();
    c.complete({ key, text, offset: p.offset }, opts);
    warm.push(performance.now() - t);
    const cut = text.slice(p.offset - o.coldContext, p.offset);
    t = performance.now();
    c.complete({ text: cut, offset: cut.length }, { ...opts, contextChars: o.coldContext });
    cold.push(performance.now() - t);
  }
  for (let f = 0; f < texts.length; f++) c.forget(`latency:${f}`);
  return { warm, cold };
}
