/**
 * Ghost text while VS Code's suggestion list is open. The editor then passes the selected item
 * (`InlineCompletionContext.selectedCompletionInfo`: the range it will replace and its text), and an
 * inline completion is shown only if it extends that item: applied over the same range, its text must
 * start with the item's. The editor then shows both, the item in the list and the ghost text after it.
 *
 * Two ways to get such a completion, cheapest first:
 *   agreeing  the network's own continuation at the cursor already runs through the item (what is typed
 *             of the word + the continuation starts with the item's text and goes beyond it);
 *   after     otherwise, the continuation the network reads after the item's text, as if it had been
 *             accepted (the text before the range, then the item's text: never the text after the cursor).
 * Pure (no `vscode`), so the rules are unit-tested.
 */

export interface SelectedItem {
  /** Offsets in the document of the range the item replaces; it ends at the cursor. */
  start: number;
  end: number;
  /** The item's text. */
  text: string;
}

/** The text to insert over the item's range when the network's continuation at the cursor agrees with the item, else null. */
export function agreeingCompletion(typed: string, item: string, continuation: string): string | null {
  const whole = typed + continuation;
  if (!whole.startsWith(item) || whole.length <= item.length) return null;
  return whole.slice(item.length).trim() === '' ? null : whole;
}

/** The document as the network should read it for the "after" completion: what precedes the range, then the item. */
export function textWithItem(document: string, item: SelectedItem): { text: string; offset: number } {
  const text = document.slice(0, item.start) + item.text;
  return { text, offset: text.length };
}

/** The text to insert over the item's range for a continuation read after the item, or null when it adds nothing visible. */
export function completionAfterItem(item: string, continuation: string): string | null {
  return continuation.trim() === '' ? null : item + continuation;
}
