/**
 * What users of completion tools ask of a suggestion, as pure rules (no `vscode`), unit-tested:
 *
 *   no repeats      a suggestion never repeats the text right after the cursor: when its end is the
 *                   start of the rest of the line (the `)` or `);` the editor closed for you), that
 *                   end is cut off; when the rest of the line already begins with all of it, there
 *                   is nothing to suggest. A closing bracket that closes a bracket the suggestion
 *                   itself opened is kept (`foo(a)` before `)` stays whole).
 *   no flicker      while you type what the ghost text shows, the rest of that same suggestion is
 *                   served at once (TypingThrough), instead of a new one computed for every key.
 *   partial accept  VS Code's stable API reports a full accept (the item's command) but not a
 *                   partial one (Ctrl/Cmd+→ word by word): a single edit that inserts at the
 *                   suggestion's place two or more characters that begin it, but not all of it, is one.
 */

const OPENERS = '([{';
const CLOSERS = ')]}';

/** Openers of `text` left unclosed by its own closers (closers with no opener in `text` are ignored). */
function unclosedOpeners(text: string): number {
  const stack: string[] = [];
  for (const ch of text) {
    if (OPENERS.includes(ch)) stack.push(ch);
    else if (CLOSERS.includes(ch) && stack.length > 0 && OPENERS.indexOf(stack[stack.length - 1]) === CLOSERS.indexOf(ch)) stack.pop();
  }
  return stack.length;
}

/**
 * The suggestion fitted to the text after the cursor on its line: without the end that repeats the
 * beginning of `restOfLine`; null when nothing but repeats or spaces is left.
 */
export function trimOverlap(suggestion: string, restOfLine: string): string | null {
  const rest = restOfLine.replace(/\s+$/, '');
  let s = suggestion;
  if (rest.length > 0) {
    if (rest.startsWith(s.replace(/\s+$/, ''))) return null;
    for (let k = Math.min(s.length, rest.length); k > 0; k--) {
      const kept = s.slice(0, s.length - k);
      if (s.endsWith(rest.slice(0, k)) && unclosedOpeners(kept) === 0) {
        s = kept;
        break;
      }
    }
  }
  return s.trim() === '' ? null : s;
}

/** A suggestion as it was shown: where (document, line, the line's text before the cursor) and what. */
export interface ShownSuggestion {
  key: string;
  line: number;
  /** The text of the line before the cursor when it was shown. */
  linePrefix: string;
  text: string;
  /** Which offer it is (the record counts an offer once, however it is typed through). */
  offer: number;
  completer: string;
}

/** The last suggestion shown, to serve its rest while it is typed through. */
export class TypingThrough {
  private last: ShownSuggestion | null = null;

  shown(s: ShownSuggestion): void {
    this.last = s;
  }

  clear(): void {
    this.last = null;
  }

  get current(): ShownSuggestion | null {
    return this.last;
  }

  /**
   * The rest of the last suggestion, as a suggestion here, when the line's text before the cursor is
   * the one it was shown at followed by a beginning of it (nothing typed: all of it); else null.
   */
  rest(key: string, line: number, linePrefix: string): ShownSuggestion | null {
    const l = this.last;
    if (!l || l.key !== key || l.line !== line || !linePrefix.startsWith(l.linePrefix)) return null;
    const typed = linePrefix.slice(l.linePrefix.length);
    if (!l.text.startsWith(typed) || typed.length >= l.text.length) return null;
    return { ...l, linePrefix, text: l.text.slice(typed.length) };
  }
}

/** One edit of a document, as VS Code reports it (zero-based line and character). */
export interface InsertEdit {
  line: number;
  character: number;
  /** UTF-16 units replaced. */
  rangeLength: number;
  text: string;
}

/** Whether the edit is a partial accept of the suggestion shown (see the file comment). */
export function isPartialAccept(shown: ShownSuggestion, edit: InsertEdit): boolean {
  return (
    edit.rangeLength === 0 &&
    edit.line === shown.line &&
    edit.character === shown.linePrefix.length &&
    edit.text.length >= 2 &&
    edit.text.length < shown.text.length &&
    shown.text.startsWith(edit.text)
  );
}
