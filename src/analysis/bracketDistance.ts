/**
 * Long-range interactions (Karpathy, Johnson & Fei-Fei 2015, section 4.3): how well a model predicts
 * a closing `}`, `)` or `]` as a function of how far back its opening partner is. The paper shows the
 * LSTM keeps predicting closers well across distances where an n-gram, which sees only the last n−1
 * characters, cannot know a bracket is open.
 *
 * Pairs: brackets outside strings, comments and character literals (the concept lexer's spans,
 * conceptLexer.ts), matched with one stack; a closer whose partner is not on top of the stack (bad
 * nesting, a bracket in a macro that the lexer cannot pair) is left out, as are openers never closed.
 * Distance: code points from the opener to the closer (`()` has distance 1). Bins: 1–2, 3–4, 5–8,
 * 9–16, … (powers of two). Each bin gives the mean probability each model gave the closer, at the
 * closer's position, reading the file from its start.
 */
import { lex, LexerConfig } from './conceptLexer';

const OPEN_OF: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

export interface BracketPair {
  /** Code-point index of the opener and of the closer. */
  open: number;
  close: number;
  closer: ')' | ']' | '}';
}

/** The matched bracket pairs of a text in code points, outside strings and comments, by closer position. */
export function bracketPairs(text: string, config: LexerConfig): { pairs: BracketPair[]; unmatched: number } {
  const spans = { strings: [], comments: [], conditions: [] } as Parameters<typeof lex>[4];
  lex(text, 0, text.length, config, spans);
  const skip = new Uint8Array(text.length);
  for (const s of [...spans.strings, ...spans.comments]) skip.fill(1, s.start, s.end);
  const stack: { ch: string; at: number }[] = [];
  const pairs: BracketPair[] = [];
  let unmatched = 0;
  let cp = 0;
  for (let i = 0; i < text.length; cp++) {
    const c = text.codePointAt(i)!;
    const ch = String.fromCodePoint(c);
    if (!skip[i]) {
      if (ch === '(' || ch === '[' || ch === '{') stack.push({ ch, at: cp });
      else if (ch === ')' || ch === ']' || ch === '}') {
        if (stack.length > 0 && stack[stack.length - 1].ch === OPEN_OF[ch]) pairs.push({ open: stack.pop()!.at, close: cp, closer: ch });
        else unmatched++;
      }
    }
    i += ch.length;
  }
  return { pairs, unmatched };
}

/** Bin of a distance d ≥ 1: 0 for 1–2, 1 for 3–4, 2 for 5–8, … */
export function distanceBin(d: number): number {
  return d <= 2 ? 0 : Math.ceil(Math.log2(d)) - 1;
}

export function binRange(b: number): [number, number] {
  return b === 0 ? [1, 2] : [2 ** b + 1, 2 ** (b + 1)];
}

export interface BracketBin {
  distance: [number, number];
  count: number;
  /** Mean probability the network / the n-gram gave the closer. */
  network: number;
  ngram: number;
}

export interface BracketReport {
  /** Matched closers scored (the bins' counts add up to it). */
  closers: number;
  /** Closers left out (no partner on top of the stack). */
  unmatched: number;
  bins: BracketBin[];
}

/**
 * Bin the closers of the texts: `network[f][i]` and `ngram[f][i]` are the probabilities each model gave
 * code point i of text f (from the text before it).
 */
export function bracketReport(texts: readonly string[], config: LexerConfig, network: readonly Float32Array[], ngram: readonly Float32Array[]): BracketReport {
  const sums: { count: number; network: number; ngram: number }[] = [];
  let closers = 0;
  let unmatched = 0;
  texts.forEach((text, f) => {
    const r = bracketPairs(text, config);
    unmatched += r.unmatched;
    for (const p of r.pairs) {
      const b = distanceBin(p.close - p.open);
      while (sums.length <= b) sums.push({ count: 0, network: 0, ngram: 0 });
      sums[b].count++;
      sums[b].network += network[f][p.close];
      sums[b].ngram += ngram[f][p.close];
      closers++;
    }
  });
  const bins = sums.map((s, b) => ({ distance: binRange(b), count: s.count, network: s.count ? s.network / s.count : NaN, ngram: s.count ? s.ngram / s.count : NaN })).filter((b) => b.count > 0);
  return { closers, unmatched, bins };
}
