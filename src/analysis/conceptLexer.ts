/**
 * The hand-written lexer behind the concept labels (conceptLabels.ts): strings with escapes,
 * comments (// and /* *\/; # for shell/Python-like language ids, -- for SQL/Lua/Haskell, <!-- -->
 * for markup), and `if` followed by a balanced parenthesis group, found as spans of UTF-16
 * indices. It labels every language but C, and the parts of a C file tree-sitter cannot
 * structure (syntax errors, macro bodies: conceptTreeSitter.ts).
 */
import { codePointWidth } from '../engine/data/codePoints';

// ---------------------------------------------------------------------------------------------
// Spans (UTF-16 indices) found by either labeller

export interface Span {
  /** First unit (for strings: the opening quote; for conditions: the first unit inside the parens). */
  start: number;
  /** One past the last unit. */
  end: number;
  /** Ends with its closing delimiter (whose last code point is then labelled 0). */
  terminated: boolean;
}

export interface Spans {
  strings: Span[];
  comments: Span[];
  conditions: Span[];
}

// ---------------------------------------------------------------------------------------------
// What opens a comment or a string, per language id

export interface LexerConfig {
  lineComments: string[];
  blockComments: [string, string][];
  /** Quote characters opening strings that stop at an unescaped newline. */
  quotes: string;
  /** Quote characters opening strings that may span lines (template literals, Go raw strings). */
  multilineQuotes: string;
  /** Python-style '''…''' and """…""". */
  tripleQuotes: boolean;
  /** Rust: `'` is a char literal only as 'x' or '\…', otherwise a lifetime or label. */
  strictCharQuote: boolean;
  /** `#` comments only at a word boundary (not `$#`, `${#x}`). */
  hashComment: boolean;
  /** First code units that can open a comment or a string (everything else skips those checks). */
  opens: Set<number>;
}

const HASH_LANGUAGES = new Set([
  'python', 'shellscript', 'shell', 'bash', 'sh', 'zsh', 'ruby', 'perl', 'perl6', 'raku', 'r', 'yaml',
  'makefile', 'dockerfile', 'toml', 'coffeescript', 'powershell', 'julia', 'elixir', 'nim', 'cmake',
  'properties', 'crystal', 'tcl', 'awk', 'gitignore', 'ignore', 'conf',
]);
const DASH_LANGUAGES = new Set(['sql', 'lua', 'haskell', 'ada', 'elm', 'vhdl']);
const MARKUP_LANGUAGES = new Set(['html', 'xml', 'svg', 'vue', 'markdown']);
const PROSE_LANGUAGES = new Set(['plaintext', 'markdown', 'latex', 'tex', 'restructuredtext', 'text', 'asciidoc']);
const TRIPLE_QUOTE_LANGUAGES = new Set(['python', 'kotlin', 'scala', 'swift', 'java', 'julia', 'groovy']);
const BACKTICK_LANGUAGES = new Set([
  'javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'go', 'shellscript', 'shell',
  'bash', 'sh', 'zsh', 'vue', 'svelte',
]);

export function lexerConfig(languageId: string): LexerConfig {
  const id = languageId.toLowerCase();
  const config: LexerConfig = {
    lineComments: ['//'],
    blockComments: [['/*', '*/']],
    quotes: `"'`,
    multilineQuotes: BACKTICK_LANGUAGES.has(id) ? '`' : '',
    tripleQuotes: TRIPLE_QUOTE_LANGUAGES.has(id),
    strictCharQuote: id === 'rust',
    hashComment: false,
    opens: new Set(),
  };
  if (HASH_LANGUAGES.has(id)) {
    config.lineComments = ['#'];
    config.blockComments = [];
    config.hashComment = true;
  } else if (id === 'php') {
    config.lineComments = ['//', '#'];
    config.hashComment = true;
  } else if (DASH_LANGUAGES.has(id)) {
    config.lineComments = ['--'];
    config.blockComments = id === 'lua' ? [['--[[', ']]']] : id === 'haskell' || id === 'elm' ? [['{-', '-}']] : id === 'sql' ? [['/*', '*/']] : [];
  }
  if (MARKUP_LANGUAGES.has(id)) {
    config.lineComments = [];
    config.blockComments = [['<!--', '-->']];
  }
  if (PROSE_LANGUAGES.has(id)) {
    // Apostrophes in prose are not quotes.
    config.quotes = '"';
    if (id !== 'markdown') {
      config.lineComments = id === 'latex' || id === 'tex' ? ['%'] : [];
      config.blockComments = [];
    }
  }
  for (const [open] of config.blockComments) config.opens.add(open.charCodeAt(0));
  for (const open of config.lineComments) config.opens.add(open.charCodeAt(0));
  for (const q of config.quotes + config.multilineQuotes) config.opens.add(q.charCodeAt(0));
  return config;
}
export const C_LEXER = lexerConfig('c');

function isIdentPart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
}

function startsWithAt(text: string, i: number, s: string): boolean {
  return text.startsWith(s, i);
}

// ---------------------------------------------------------------------------------------------
// Lexing

/**
 * Lex text[from, to) for strings, comments and `if (…)` conditions. The range starts in code
 * (not inside a string or comment). Returns spans in UTF-16 indices of the whole text.
 */
export function lex(text: string, from: number, to: number, config: LexerConfig, out: Spans): void {
  let i = from;
  let parenDepth = 0;
  let pendingIf = false;
  const ifStack: { start: number; depth: number }[] = [];
  const opens = config.opens;

  while (i < to) {
    const c = text.charCodeAt(i);

    if (opens.has(c)) {
      // A comment leaves a pending `if` pending (`if /* … */ (x)`); a string ends it.
      const afterComment = lexComment(text, i, from, to, config, out);
      if (afterComment >= 0) {
        i = afterComment;
        continue;
      }
      const afterString = lexString(text, i, to, config, out);
      if (afterString >= 0) {
        i = afterString;
        pendingIf = false;
        continue;
      }
    }

    // Words: `if` starts a pending condition.
    if (isIdentPart(c)) {
      let j = i + 1;
      while (j < to && isIdentPart(text.charCodeAt(j))) j++;
      const before = i > from ? text.charCodeAt(i - 1) : 0;
      pendingIf = j - i === 2 && c === 105 && text.charCodeAt(i + 1) === 102 && before !== 35 /* # */ && before !== 46 /* . */;
      i = j;
      continue;
    }
    if (c === 40 /* ( */) {
      if (pendingIf) ifStack.push({ start: i + 1, depth: parenDepth });
      parenDepth++;
      pendingIf = false;
    } else if (c === 41 /* ) */) {
      if (parenDepth > 0) parenDepth--;
      const top = ifStack[ifStack.length - 1];
      if (top && top.depth === parenDepth) {
        out.conditions.push({ start: top.start, end: i, terminated: true });
        ifStack.pop();
      }
      pendingIf = false;
    } else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
      pendingIf = false;
    }
    i++;
  }
  for (const open of ifStack) out.conditions.push({ start: open.start, end: to, terminated: false });
}

/** A comment opening at text[i]: pushed to out.comments; returns the index after it, or −1 when none opens there. */
function lexComment(text: string, i: number, from: number, to: number, config: LexerConfig, out: Spans): number {
  // Block openers first: Lua's '--[[' must win over '--'.
  for (const [open, close] of config.blockComments) {
    if (startsWithAt(text, i, open)) {
      const closeAt = text.indexOf(close, i + open.length);
      if (closeAt >= 0 && closeAt + close.length <= to) {
        out.comments.push({ start: i, end: closeAt + close.length, terminated: true });
        return closeAt + close.length;
      }
      out.comments.push({ start: i, end: to, terminated: false });
      return to;
    }
  }
  for (const open of config.lineComments) {
    if (!startsWithAt(text, i, open)) continue;
    if (open === '#' && config.hashComment && i > from) {
      const p = text.charCodeAt(i - 1);
      if (isIdentPart(p) || p === 123 /* { */) continue;
    }
    let j = i + open.length;
    while (j < to) {
      const d = text.charCodeAt(j);
      if (d === 10) {
        // A backslash before the newline continues a C-style line comment.
        const prev = text.charCodeAt(j - 1);
        const prev2 = text.charCodeAt(j - 2);
        if (open === '//' && (prev === 92 || (prev === 13 && prev2 === 92))) {
          j++;
          continue;
        }
        break;
      }
      j++;
    }
    out.comments.push({ start: i, end: j, terminated: false });
    return j;
  }
  return -1;
}

/**
 * A string opening at text[i]: pushed to out.strings; returns the index after it (after the
 * quote alone for a Rust lifetime or label), or −1 when no string opens there.
 */
function lexString(text: string, i: number, to: number, config: LexerConfig, out: Spans): number {
  const c = text.charCodeAt(i);
  if (config.tripleQuotes && (c === 34 || c === 39) && text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === c) {
    const delim = text.substr(i, 3);
    let j = i + 3;
    let end = -1;
    while (j < to) {
      const d = text.charCodeAt(j);
      if (d === 92) {
        j += 2;
        continue;
      }
      if (d === c && startsWithAt(text, j, delim)) {
        end = j + 3;
        break;
      }
      j++;
    }
    if (end >= 0 && end <= to) out.strings.push({ start: i, end, terminated: true });
    else out.strings.push({ start: i, end: to, terminated: false });
    return end >= 0 && end <= to ? end : to;
  }
  const single = config.quotes.indexOf(text[i]) >= 0;
  const multi = !single && config.multilineQuotes.indexOf(text[i]) >= 0;
  if (!single && !multi) return -1;
  if (c === 39 && config.strictCharQuote) {
    // 'x' (one code point) or '\…'; anything else is a lifetime or loop label.
    const next = text.charCodeAt(i + 1);
    const width = i + 1 < text.length ? codePointWidth(text, i + 1) : 1;
    const isChar = next === 92 || (i + 1 + width < to && text.charCodeAt(i + 1 + width) === 39 && next !== 39 && next !== 10);
    if (!isChar) return i + 1;
  }
  let j = i + 1;
  let end = -1;
  let stop = to;
  while (j < to) {
    const d = text.charCodeAt(j);
    if (d === 92) {
      j += text.charCodeAt(j + 1) === 13 && text.charCodeAt(j + 2) === 10 ? 3 : 2;
      continue;
    }
    if (d === c) {
      end = j + 1;
      break;
    }
    if (d === 10 && single) {
      stop = j;
      break;
    }
    j++;
  }
  if (end >= 0) {
    out.strings.push({ start: i, end, terminated: true });
    return end;
  }
  out.strings.push({ start: i, end: Math.min(stop, to), terminated: false });
  return Math.min(stop, to);
}
