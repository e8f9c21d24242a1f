/**
 * Code points and UTF-16 offsets: the model's symbols are Unicode code points, editors and
 * JavaScript strings count UTF-16 code units. One rule everywhere (the vocabulary's): a surrogate
 * pair — a high surrogate U+D800–DBFF followed by a low one U+DC00–DFFF — is one code point; any
 * other unit, a lone surrogate included, is one code point of its own. That is how `for…of` and
 * `Array.from` split a string.
 *
 * No imports: the webview bundles may use this file too.
 */

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** A high or a low surrogate (a lone one is never a vocabulary symbol). */
export function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

/** The code point of the surrogate pair (hi, lo). */
export function pairCodePoint(hi: number, lo: number): number {
  return ((hi - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
}

/** UTF-16 units of the code point starting at `i` (< text.length): 2 for a surrogate pair, else 1. */
export function codePointWidth(text: string, i: number): 1 | 2 {
  return isHighSurrogate(text.charCodeAt(i)) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
}

/** Code points in `text`. */
export function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += codePointWidth(text, i)) n++;
  return n;
}

/** The UTF-16 offset `n` code points after `offset` (or the end of the text). */
export function advanceCodePoints(text: string, offset: number, n: number): number {
  let i = offset;
  for (let k = 0; k < n && i < text.length; k++) i += codePointWidth(text, i);
  return i;
}

/** Whether `offset` falls between the halves of a surrogate pair. */
export function splitsPair(text: string, offset: number): boolean {
  return offset > 0 && offset < text.length && isLowSurrogate(text.charCodeAt(offset)) && isHighSurrogate(text.charCodeAt(offset - 1));
}

/** Move an offset that falls between the halves of a surrogate pair to after the pair. */
export function alignToCodePoint(text: string, offset: number): number {
  return splitsPair(text, offset) ? offset + 1 : offset;
}

/** The code points of `text` from UTF-16 offset `offset` on, one string each. */
export function* codePointsFrom(text: string, offset: number): Generator<string> {
  for (let i = offset; i < text.length; ) {
    const w = codePointWidth(text, i);
    yield text.slice(i, i + w);
    i += w;
  }
}

/** Whether `s` is exactly one code point that is not a lone surrogate. */
export function isSingleCodePoint(s: string): boolean {
  if (s.length === 1) return !isSurrogate(s.charCodeAt(0));
  return s.length === 2 && isHighSurrogate(s.charCodeAt(0)) && isLowSurrogate(s.charCodeAt(1));
}

/** UTF-16 offset of every code point of `text`, plus the text's length at index n (the code point count). */
export function unitOffsets(text: string): Int32Array {
  const len = text.length;
  const out = new Int32Array(len + 1);
  let n = 0;
  for (let i = 0; i < len; i += codePointWidth(text, i)) out[n++] = i;
  out[n] = len;
  return out.slice(0, n + 1);
}

/** The code point containing UTF-16 offset `unit` (the count of code points starting before it, for a boundary). */
export function cpOfUnit(unitOfCp: Int32Array, unit: number): number {
  let lo = 0;
  let hi = unitOfCp.length - 1;
  if (unit >= unitOfCp[hi]) return hi;
  if (unit <= 0) return 0;
  // Largest i with unitOfCp[i] <= unit.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (unitOfCp[mid] <= unit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Code points in the longest common prefix of a and b. */
export function commonPrefixCodePoints(a: string, b: string): number {
  let n = 0;
  for (let i = 0; i < a.length && i < b.length; n++) {
    const w = codePointWidth(a, i);
    if (codePointWidth(b, i) !== w || a.charCodeAt(i) !== b.charCodeAt(i) || (w === 2 && a.charCodeAt(i + 1) !== b.charCodeAt(i + 1))) break;
    i += w;
  }
  return n;
}
