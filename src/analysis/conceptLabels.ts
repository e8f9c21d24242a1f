/**
 * Concept labels: for every Unicode code point of a text, what a reader of the text "knows" at
 * that point — is it inside a string, a comment, an `if` condition; how deep are the brackets;
 * how far is the end of the line. These are the tracks that cell activations are ranked against
 * (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks"; LSTMVis).
 *
 * Alignment. The model reads one code point per time step (a text with an emoji has ONE position
 * for it), and the activation at position t is the state after reading code point t. Every track
 * therefore has one value per code point, and span concepts follow one rule, "the state after
 * reading this code point":
 *   in-string        1 from the opening quote (a prefix such as L or u8 is not included) through
 *                    the last code point before the closing quote; the closing quote itself is 0
 *                    (after reading it the reader is outside again). Character literals count.
 *                    An unterminated string is 1 up to where it stops (the end of its line).
 *   in-comment       the same for block comments: 1 from the first '/' of '/*' up to and
 *                    including the '*' of '*' + '/'; line comments are 1 over their whole text and
 *                    the newline that ends them is 0.
 *   in-if-condition  1 strictly between the parentheses of an `if` condition (both parens are 0),
 *                    nested parens and calls inside included; as the brief for the product asks.
 *   in-preprocessor  (C-family ids only) 1 from the '#' of a directive to the end of its line,
 *                    backslash-continued lines included; the final newline is 0.
 *   bracket-depth    count of open (), [], {} after reading this code point: an opening bracket
 *                    already counts itself, a closing one no longer does. Brackets inside strings
 *                    and comments are ignored; unmatched closers clamp at 0.
 *   brace-depth      the same for {} only.
 *   indent-level     width in columns of the current line's leading spaces and tabs (tab stops
 *                    every 8 columns), constant across the line including its '\n'.
 *   column           code points before this one on its line (0 at the first one; a '\n' has
 *                    the line's length).
 *   line-end-distance code points from here to the line's '\n' (0 on the '\n' itself; the last
 *                    line without a newline ends at the end of the text) — the paper's
 *                    line-length cell.
 * Lines are separated by '\n' only; a '\r' before it is an ordinary code point.
 *
 * Labellers. Language id 'c' is parsed with tree-sitter (web-tree-sitter + tree-sitter-c's wasm
 * grammar; conceptTreeSitter.ts); tree-sitter reports UTF-16 indices for JS strings, converted here
 * to code-point positions. Inside ERROR regions (syntax errors) and inside macro bodies
 * (`preproc_arg`, which the grammar leaves unparsed) the hand-written lexer (conceptLexer.ts) takes
 * over, so a broken file still gets labels. Every other language id ('cpp' included: C++ is too
 * far from C for the C grammar's error recovery to be better than the lexer), or a grammar that
 * fails to load, uses the lexer:
 * strings with escapes, // and /* *\/ comments (# for shell/Python-like ids, -- for SQL/Lua/
 * Haskell), brackets, and `if` followed by a balanced parenthesis group. The result says which
 * labeller was used and, for a fallback, why.
 *
 * This module never imports `vscode`: it is shared by the CLI and the editor extension.
 */

import { codePointWidth } from '../engine/data/codePoints';
import { lex, lexerConfig, type Span, type Spans } from './conceptLexer';
import { loadCParser, treeSitterSpans } from './conceptTreeSitter';

export interface Concept {
  id: string;
  title: string;
  kind: 'binary' | 'count';
  /** One value per code point of the text (binary: 0 or 1). */
  values: Float32Array;
}

export type Labeller = 'tree-sitter-c' | 'lexer';

export interface ConceptLabels {
  labeller: Labeller;
  /** Why the lexer was used for a language that has a grammar (load failure), if it was. */
  labellerNote?: string;
  /** Number of code points (= length of every concept's values). */
  codePoints: number;
  concepts: Concept[];
}

export interface ExtraConcept {
  id: string;
  pattern: string;
  flags?: string;
  title?: string;
}

export interface LabelOptions {
  /** Path to tree-sitter-c.wasm; default: resolved from the installed `tree-sitter-c` package. */
  grammarWasmPath?: string;
  /**
   * Path to web-tree-sitter's runtime wasm (`tree-sitter.wasm` in web-tree-sitter 0.25); default:
   * resolved from the installed package. The runtime is initialised once per process, so only the
   * path given on the first successful initialisation counts.
   */
  treeSitterWasmPath?: string;
  /** User concepts from regular expressions, appended after the built-in ones. */
  extra?: ExtraConcept[];
  /** 'lexer' forces the lexer even for C (for comparison); default 'auto'. */
  labeller?: 'auto' | 'lexer';
}

/** Language ids whose `#` lines are preprocessor directives. */
const PREPROCESSOR_LANGUAGES = new Set(['c', 'cpp', 'objective-c', 'objective-cpp', 'cuda-cpp', 'csharp', 'hlsl', 'glsl']);

// ---------------------------------------------------------------------------------------------
// Code points

/**
 * Map from UTF-16 index to code-point index: `cpOf[i]` is the code point containing unit i
 * (both halves of a surrogate pair map to the same code point), `cpOf[text.length]` is the number
 * of code points. A lone surrogate is one code point, as `for…of` and `Array.from` treat it.
 */
export function codePointIndex(text: string): { cpOf: Int32Array; codePoints: number } {
  const len = text.length;
  const cpOf = new Int32Array(len + 1);
  let cp = 0;
  for (let i = 0; i < len; cp++) {
    const width = codePointWidth(text, i);
    cpOf[i] = cp;
    if (width === 2) cpOf[i + 1] = cp;
    i += width;
  }
  cpOf[len] = cp;
  return { cpOf, codePoints: cp };
}

// ---------------------------------------------------------------------------------------------
// Tracks

function buildConcepts(text: string, cpOf: Int32Array, n: number, spans: Spans, preprocessor: boolean): Concept[] {
  const inString = new Float32Array(n);
  const inComment = new Float32Array(n);
  const inCondition = new Float32Array(n);
  const opaque = new Uint8Array(n); // inside a string or comment (brackets there do not count)

  const labelSpans = (list: Span[], target: Float32Array) => {
    for (const s of list) {
      const a = cpOf[s.start];
      const b = s.terminated ? cpOf[s.end - 1] : cpOf[s.end];
      if (b > a) target.fill(1, a, b);
      opaque.fill(1, a, cpOf[s.end]);
    }
  };
  labelSpans(spans.strings, inString);
  labelSpans(spans.comments, inComment);
  for (const s of spans.conditions) {
    const a = cpOf[s.start];
    const b = cpOf[s.end];
    if (b > a) inCondition.fill(1, a, b);
  }

  const bracketDepth = new Float32Array(n);
  const braceDepth = new Float32Array(n);
  const indent = new Float32Array(n);
  const column = new Float32Array(n);
  const lineEnd = new Float32Array(n);
  const inPreprocessor = preprocessor ? new Float32Array(n) : null;

  let brackets = 0;
  let braces = 0;
  let cp = 0;
  let lineStartCp = 0;
  let lineStartUnit = 0;
  let atLineStart = true; // still in the leading whitespace
  let indentWidth = 0;
  let directive = false; // inside a preprocessor directive
  let directiveFrom = 0;
  let continued = false; // previous line was a directive ending in a backslash

  const finishLine = (lineEndCp: number, endUnit: number) => {
    // lineEndCp: code-point index of the '\n' (or n); endUnit: its UTF-16 index.
    indent.fill(indentWidth, lineStartCp, Math.min(lineEndCp + 1, n));
    for (let k = lineStartCp; k <= lineEndCp && k < n; k++) {
      column[k] = k - lineStartCp;
      lineEnd[k] = lineEndCp - k;
    }
    if (inPreprocessor) {
      let backslash = false;
      if (directive) {
        let e = endUnit - 1;
        if (e >= lineStartUnit && text.charCodeAt(e) === 13) e--;
        backslash = e >= lineStartUnit && text.charCodeAt(e) === 92;
        // The continuation newline keeps the reader inside; the final one does not.
        inPreprocessor.fill(1, directiveFrom, Math.min(backslash ? lineEndCp + 1 : lineEndCp, n));
      }
      continued = directive && backslash;
      directive = continued;
    }
  };

  const len = text.length;
  for (let i = 0; i < len; i++, cp++) {
    const c = text.charCodeAt(i);
    if (codePointWidth(text, i) === 2) i++; // surrogate pair: one code point

    if (c === 10) {
      bracketDepth[cp] = brackets;
      braceDepth[cp] = braces;
      finishLine(cp, i);
      lineStartCp = cp + 1;
      lineStartUnit = i + 1;
      atLineStart = true;
      indentWidth = 0;
      if (continued) directiveFrom = cp + 1;
      continue;
    }
    if (atLineStart) {
      if (c === 32) indentWidth++;
      else if (c === 9) indentWidth = (Math.floor(indentWidth / 8) + 1) * 8;
      else {
        atLineStart = false;
        if (inPreprocessor && !continued && c === 35 && !opaque[cp]) {
          directive = true;
          directiveFrom = cp;
        }
      }
    }
    if (!opaque[cp]) {
      switch (c) {
        case 40: case 91: brackets++; break; // ( [
        case 41: case 93: if (brackets > 0) brackets--; break; // ) ]
        case 123: brackets++; braces++; break; // {
        case 125: if (brackets > 0) brackets--; if (braces > 0) braces--; break; // }
      }
    }
    bracketDepth[cp] = brackets;
    braceDepth[cp] = braces;
  }
  if (lineStartCp < n) finishLine(n, len); // last line without a newline

  const concepts: Concept[] = [
    { id: 'in-string', title: 'Inside a string or character literal', kind: 'binary', values: inString },
    { id: 'in-comment', title: 'Inside a comment', kind: 'binary', values: inComment },
    { id: 'in-if-condition', title: 'Inside the parentheses of an if condition', kind: 'binary', values: inCondition },
  ];
  if (inPreprocessor) {
    concepts.push({ id: 'in-preprocessor', title: 'Inside a preprocessor directive', kind: 'binary', values: inPreprocessor });
  }
  concepts.push(
    { id: 'bracket-depth', title: 'Nesting depth of (), [] and {}', kind: 'count', values: bracketDepth },
    { id: 'brace-depth', title: 'Nesting depth of {}', kind: 'count', values: braceDepth },
    { id: 'indent-level', title: 'Indentation of the line (columns, tab stops of 8)', kind: 'count', values: indent },
    { id: 'column', title: 'Position in the line', kind: 'count', values: column },
    { id: 'line-end-distance', title: 'Distance to the end of the line', kind: 'count', values: lineEnd },
  );
  return concepts;
}

// ---------------------------------------------------------------------------------------------
// Regular-expression concepts

function compileConceptRegex(id: string, pattern: RegExp | string, flags?: string): RegExp {
  if (typeof pattern !== 'string' && !(pattern instanceof RegExp)) {
    throw new Error(`Concept "${id}": pattern must be a string or a RegExp`);
  }
  const source = typeof pattern === 'string' ? pattern : pattern.source;
  const baseFlags = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
  const allFlags = baseFlags.includes('g') ? baseFlags : baseFlags + 'g';
  try {
    return new RegExp(source, allFlags);
  } catch (err) {
    throw new Error(`Concept "${id}": invalid regular expression /${source}/${baseFlags}: ${(err as Error).message}`);
  }
}

/**
 * A binary concept that is 1 on the code points inside matches of a regular expression (the
 * global flag is added; zero-length matches mark nothing and never stall the scan).
 */
export function regexConcept(text: string, id: string, pattern: RegExp | string, flags?: string): Concept {
  if (typeof id !== 'string' || id.trim() === '') throw new Error('A regular-expression concept needs a non-empty id');
  const re = compileConceptRegex(id, pattern, flags);
  const { cpOf, codePoints } = codePointIndex(text);
  return regexConceptOnIndex(text, id, re, cpOf, codePoints);
}

function regexConceptOnIndex(text: string, id: string, re: RegExp, cpOf: Int32Array, n: number): Concept {
  const values = new Float32Array(n);
  const unicode = re.unicode || re.flags.includes('v');
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (end > start) {
      values.fill(1, cpOf[start], cpOf[end]);
    } else {
      // Zero-length match: step past it by one code point (unicode) or one unit.
      const step = unicode ? codePointWidth(text, start) : 1;
      if (start + step > text.length) break;
      re.lastIndex = start + step;
    }
  }
  return { id, title: `/${re.source}/${re.flags.replace('g', '')}`, kind: 'binary', values };
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Label every code point of `text` with the built-in concepts (see the file comment) plus any
 * user regular-expression concepts. Language id 'c' uses tree-sitter when its grammar loads.
 */
export async function labelConcepts(text: string, languageId: string, options: LabelOptions = {}): Promise<ConceptLabels> {
  if (typeof text !== 'string') throw new Error('labelConcepts: text must be a string');
  const id = (languageId ?? '').toLowerCase();
  const extras = (options.extra ?? []).map((e) => {
    if (!e || typeof e.id !== 'string' || e.id.trim() === '') throw new Error('An extra concept needs a non-empty id');
    return { ...e, re: compileConceptRegex(e.id, e.pattern, e.flags) };
  });

  const { cpOf, codePoints } = codePointIndex(text);
  let labeller: Labeller = 'lexer';
  let labellerNote: string | undefined;
  let spans: Spans | undefined;

  if (id === 'c' && options.labeller !== 'lexer') {
    try {
      const { parser } = await loadCParser(options.grammarWasmPath, options.treeSitterWasmPath);
      spans = treeSitterSpans(text, parser);
      labeller = 'tree-sitter-c';
    } catch (err) {
      labellerNote = `tree-sitter-c unavailable, used the lexer: ${(err as Error).message}`;
    }
  }
  if (!spans) {
    spans = { strings: [], comments: [], conditions: [] };
    lex(text, 0, text.length, lexerConfig(id), spans);
  }

  const concepts = buildConcepts(text, cpOf, codePoints, spans, PREPROCESSOR_LANGUAGES.has(id));
  const seen = new Set(concepts.map((c) => c.id));
  for (const e of extras) {
    if (seen.has(e.id)) throw new Error(`Concept id "${e.id}" is already used`);
    seen.add(e.id);
    const concept = regexConceptOnIndex(text, e.id, e.re, cpOf, codePoints);
    if (e.title) concept.title = e.title;
    concepts.push(concept);
  }
  const result: ConceptLabels = { labeller, codePoints, concepts };
  if (labellerNote) result.labellerNote = labellerNote;
  return result;
}