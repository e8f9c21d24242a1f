/**
 * The concept labels' spans for C from tree-sitter (web-tree-sitter + tree-sitter-c's wasm
 * grammar): strings, comments and `if` conditions as UTF-16 indices, as the lexer
 * (conceptLexer.ts) finds them for other languages. Inside ERROR regions (syntax errors) and
 * macro bodies (`preproc_arg`, which the grammar leaves unparsed) the lexer takes over. The
 * runtime is initialised once per process and each grammar loaded once.
 */

import type * as TreeSitter from 'web-tree-sitter';
import * as path from 'path';
import { C_LEXER, lex, type Spans } from './conceptLexer';

export interface CParser {
  parser: TreeSitter.Parser;
}

let runtimeInit: Promise<typeof TreeSitter> | undefined;
const grammarCache = new Map<string, Promise<CParser>>();

function defaultGrammarPath(): string {
  try {
    return path.join(path.dirname(require.resolve('tree-sitter-c/package.json')), 'tree-sitter-c.wasm');
  } catch (err) {
    throw new Error(
      `Cannot find the tree-sitter-c package to locate tree-sitter-c.wasm (${(err as Error).message}); pass grammarWasmPath.`,
    );
  }
}

function defaultRuntimeWasmPath(): string | undefined {
  try {
    return require.resolve('web-tree-sitter/tree-sitter.wasm');
  } catch {
    return undefined; // let web-tree-sitter look next to its own script
  }
}

async function loadRuntime(treeSitterWasmPath: string | undefined): Promise<typeof TreeSitter> {
  if (!runtimeInit) {
    runtimeInit = (async () => {
      const ts = await import('web-tree-sitter');
      const wasm = treeSitterWasmPath ?? defaultRuntimeWasmPath();
      await ts.Parser.init(
        wasm ? { locateFile: (name: string, dir: string) => (name.endsWith('.wasm') ? wasm : dir + name) } : undefined,
      );
      return ts;
    })();
    // A failed initialisation is not cached: a later call may pass a correct path.
    runtimeInit.catch(() => {
      runtimeInit = undefined;
    });
  }
  return runtimeInit;
}
export function loadCParser(grammarWasmPath: string | undefined, treeSitterWasmPath: string | undefined): Promise<CParser> {
  const grammar = grammarWasmPath ?? defaultGrammarPath();
  let cached = grammarCache.get(grammar);
  if (!cached) {
    cached = (async () => {
      const ts = await loadRuntime(treeSitterWasmPath);
      const language = await ts.Language.load(grammar);
      const parser = new ts.Parser();
      parser.setLanguage(language);
      return { parser };
    })();
    grammarCache.set(grammar, cached);
    cached.catch(() => grammarCache.delete(grammar));
  }
  return cached;
}

/** Index of the first `quote` in text[start, end) (skips prefixes such as L, u8), or start. */
function openingQuote(text: string, start: number, end: number, quote: string): number {
  const at = text.indexOf(quote, start);
  return at >= 0 && at < end ? at : start;
}
export function treeSitterSpans(text: string, parser: TreeSitter.Parser): Spans {
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  const spans: Spans = { strings: [], comments: [], conditions: [] };
  const cursor = tree.walk();
  try {
    const parentTypes: string[] = [];
    let prev = ''; // type of the previous sibling of the current node
    walk: for (;;) {
      const type = cursor.nodeType;
      const start = cursor.startIndex;
      const end = cursor.endIndex;
      let descend = true;
      switch (type) {
        case 'string_literal':
        case 'char_literal':
        case 'raw_string_literal': {
          const quote = type === 'char_literal' ? "'" : '"';
          const open = openingQuote(text, start, end, quote);
          let terminated = false;
          if (cursor.gotoLastChild()) {
            terminated = cursor.nodeType === quote && !cursor.nodeIsMissing && cursor.endIndex > cursor.startIndex && cursor.startIndex > open;
            cursor.gotoParent();
          }
          spans.strings.push({ start: open, end, terminated });
          descend = false;
          break;
        }
        case 'comment': {
          const block = text.startsWith('/*', start);
          const terminated = block && end - start >= 4 && text.startsWith('*/', end - 2);
          spans.comments.push({ start, end, terminated });
          descend = false;
          break;
        }
        case 'ERROR':
        case 'preproc_arg':
          // Syntax errors and macro bodies: the grammar has no reliable structure here.
          lex(text, start, end, C_LEXER, spans);
          descend = false;
          break;
        case 'parenthesized_expression':
          if (prev === 'if') {
            // Error recovery may leave the closing paren MISSING (zero width).
            let close = false;
            if (cursor.gotoLastChild()) {
              close = cursor.nodeType === ')' && !cursor.nodeIsMissing && cursor.endIndex > cursor.startIndex;
              cursor.gotoParent();
            }
            spans.conditions.push({ start: start + 1, end: close ? end - 1 : end, terminated: close });
          }
          break;
      }
      if (descend && cursor.gotoFirstChild()) {
        parentTypes.push(type);
        prev = '';
        continue;
      }
      if (type !== 'comment') prev = type; // `if /* … */ (x)` still has a condition
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) break walk;
        prev = parentTypes.pop() ?? '';
      }
    }
  } finally {
    cursor.delete();
    tree.delete();
  }
  return spans;
}
