/**
 * Code points of a UTF-16 string: how many there are, and whether a unit is the second half of
 * a surrogate pair (so that a cut never splits a pair).
 */

/** Number of code points in `text` (a lone surrogate counts as one). */
export function countCodePoints(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      surrogatePairs++;
      i++;
    }
  }
  return text.length - surrogatePairs;
}

/** Is `unit` a low (second) surrogate? */
export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
