/**
 * From an onion's per-character errors to spans of a document's text, for the file colouring.
 *
 * The command line counts code points of the file as the corpus reads it: no byte-order mark, CRLF
 * read as LF, and at most its first `--max-chars` code points. A document's text may have CRLF line
 * ends; so each code point of the normalised text is mapped to its UTF-16 offset in the document's
 * text (a CRLF's code point is its LF), and runs of neighbouring errors of one category become one
 * span. The caller checks that the document still has the text the onion was computed on (the
 * panel keeps its hash); here a text shorter than what the onion saw, or an error past it, gives no
 * spans at all rather than spans that point at the wrong characters.
 */

export interface CategorySpan {
  category: number;
  /** UTF-16 offsets into the document's text, end exclusive. */
  start: number;
  end: number;
}

/** UTF-16 offset in `text` of each code point of its normalised form (BOM dropped, CRLF as LF), and the end. */
export function normalisedOffsets(text: string): Int32Array {
  const offsets: number[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
      offsets.push(i + 1); // the CR merges into the LF that follows it
      i += 2;
      continue;
    }
    offsets.push(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  offsets.push(text.length);
  return Int32Array.from(offsets);
}

/**
 * Spans of `text` coloured by category, from `[code point, category]` pairs in ascending order;
 * null when the text has fewer than `chars` code points (what the onion saw) or an error lies past them.
 */
export function categorySpans(text: string, errors: readonly (readonly [number, number])[], chars: number): CategorySpan[] | null {
  const offsets = normalisedOffsets(text);
  const codePoints = offsets.length - 1;
  if (codePoints < chars) return null;
  const spans: CategorySpan[] = [];
  for (const [cp, category] of errors) {
    if (!(cp >= 0 && cp < chars)) return null;
    const start = offsets[cp];
    const end = offsets[cp + 1];
    const last = spans[spans.length - 1];
    if (last && last.category === category && last.end === start) last.end = end;
    else spans.push({ category, start, end });
  }
  return spans;
}
