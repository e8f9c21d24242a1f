/**
 * Tokens and stopping: what a token is for completions (a run of word characters, or one
 * punctuation character grown into a multi-character operator of C-like languages), the stopping
 * rule of each `stopAt`, and what the author actually wrote to the end of the token or the line
 * (what complete-eval compares a suggestion with).
 */
import { codePointsFrom } from '../data/codePoints';
import type { StopAt } from './completer';

const WORD = /[\p{L}\p{N}_]/u;
const HSPACE = /[ \t\f\v\u00a0]/;
/** Multi-character operators of C-like languages: a punctuation token grows while it is a prefix of one. */
const OPERATORS = [
  '->', '++', '--', '==', '!=', '<=', '>=', '&&', '||', '<<', '>>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '<<=', '>>=', '...', '::', '##', '/*', '*/', '//', '=>', '**',
];
const OPERATOR_PREFIXES = new Set(OPERATORS.flatMap((op) => Array.from({ length: op.length }, (_, i) => op.slice(0, i + 1))));

export function isWordChar(ch: string): boolean {
  return WORD.test(ch);
}

/**
 * Whether `ch` continues the token that the suggestion `generated` has begun. A token is a run of
 * word characters (letters, digits, _ — the rest of the word when the cursor is inside one), or one
 * punctuation character grown into a multi-character operator (`->`, `<<=` …); spaces before the
 * token has begun are part of the suggestion; a line break, or a space after the token, ends it.
 * (What precedes the cursor does not matter: inside a word, the rest of the word is a run of word
 * characters; after a word, the next token.)
 */
export function tokenContinues(generated: string, ch: string): boolean {
  if (ch === '\n' || ch === '\r') return false;
  const soFar = generated.replace(/^[ \t\f\v\u00a0]+/, '');
  if (soFar === '') return true; // leading spaces, or the first character of the token
  if (HSPACE.test(ch)) return false;
  const first = String.fromCodePoint(soFar.codePointAt(0)!);
  if (isWordChar(first)) return isWordChar(ch);
  return OPERATOR_PREFIXES.has(soFar + ch);
}

/** The stopping rule of a request: does `ch`, after `generated`, end the suggestion? */
export type StopRule = (generated: string, ch: string) => boolean;

export function stopRule(stopAt: StopAt): StopRule {
  switch (stopAt) {
    case 'none':
      return () => false;
    case 'line':
      return (_g, ch) => ch === '\n' || ch === '\r';
    case 'token':
      return (g, ch) => !tokenContinues(g, ch);
  }
}

/** What the author actually wrote from `offset` to the end of the token (the rule of stopAt 'token'). */
export function tokenTarget(text: string, offset: number): string {
  let out = '';
  for (const ch of codePointsFrom(text, offset)) {
    if (!tokenContinues(out, ch)) break;
    out += ch;
  }
  return out;
}

/** What the author actually wrote from `offset` to the end of the line. */
export function lineTarget(text: string, offset: number): string {
  const eol = text.indexOf('\n', offset);
  const line = text.slice(offset, eol < 0 ? text.length : eol);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
