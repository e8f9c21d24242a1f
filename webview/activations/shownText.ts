/**
 * The activations panel's logic that needs no DOM (unit-tested in test/activationsPanelLogic.test.ts):
 * the shown text split into lines of code points, a position's line and column, the chosen cell's
 * values as they arrive (merged into the shown range), the window of lines the virtualised view
 * keeps in the DOM, keyboard moves between positions, cell stepping, the legend's labels, how the
 * tooltip names a symbol, and the UI state kept across reloads.
 */
import type { ActivationsTab } from '../../src/extension/protocol/activations';
import { countCodePoints } from '../../src/engine/data/codePoints';

/** One shown line: the code point (in the shown text) it starts at and its code points. */
export interface ShownLine {
  start: number;
  cps: string[];
  /** The line ends with '\n' (a position of its own, after the last code point). */
  newline: boolean;
}

export function splitLines(text: string): ShownLine[] {
  const out: ShownLine[] = [];
  let cps: string[] = [];
  let start = 0;
  let pos = 0;
  for (const ch of text) {
    if (ch === '\n') {
      out.push({ start, cps, newline: true });
      cps = [];
      start = pos + 1;
    } else cps.push(ch);
    pos++;
  }
  out.push({ start, cps, newline: false });
  return out;
}

/** Line index and column of a shown position (binary search on the lines' starts). */
export function locate(lines: ShownLine[], position: number): { line: number; col: number } {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid].start <= position) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, col: position - (lines[lo]?.start ?? 0) };
}

/** Positions in the lines: every code point and every newline. */
export function positionCount(lines: ShownLine[]): number {
  return lines.reduce((n, l) => n + l.cps.length + (l.newline ? 1 : 0), 0);
}

/** The values for a newly shown text: kept if they have its length, else all NaN (not traced yet). */
export function valuesForText(current: Float32Array, text: string | null): Float32Array {
  const total = text === null ? 0 : countCodePoints(text);
  return current.length !== total ? new Float32Array(total).fill(NaN) : current;
}

/**
 * Values arrived for shown positions [start, start + incoming.length): they replace the current ones
 * when they cover them all from 0, else are copied in (cut at the end of the shown text). A channel
 * that serialised them as JSON sends numbers with null for NaN.
 */
export function mergeValues(current: Float32Array, incoming: Float32Array | (number | null)[], start: number): Float32Array {
  const values = incoming instanceof Float32Array ? incoming : Float32Array.from(incoming, (x) => (x === null ? NaN : x));
  if (start === 0 && values.length >= current.length) return values;
  current.set(values.subarray(0, Math.max(0, current.length - start)), start);
  return current;
}

/** Lines kept in the DOM above and below the ones in sight. */
export const OVERSCAN = 30;

/**
 * The virtualised view at a scroll position: lines [first, last] are in the DOM (the ones in sight
 * ± OVERSCAN), lines [shownFirst, shownLast] are in sight.
 */
export function lineWindow(scrollTop: number, height: number, lineHeight: number, lineCount: number): { first: number; last: number; shownFirst: number; shownLast: number } {
  return {
    first: Math.max(0, Math.floor(scrollTop / lineHeight) - OVERSCAN),
    last: Math.min(lineCount - 1, Math.ceil((scrollTop + height) / lineHeight) + OVERSCAN),
    shownFirst: Math.floor(scrollTop / lineHeight),
    shownLast: Math.min(lineCount - 1, Math.ceil((scrollTop + height) / lineHeight)),
  };
}

/**
 * Where an arrow key moves the inspected position from `at` (`pinned` < 0: nothing pinned yet, so the
 * first move pins `at` itself); up and down keep the column, cut at the target line's end. Null for
 * any other key. The caller clamps the result into the text (clampPosition).
 */
export function arrowTarget(lines: ShownLine[], key: string, at: number, pinned: number): number | null {
  const { line, col } = locate(lines, at);
  switch (key) {
    case 'ArrowRight':
      return pinned < 0 ? at : at + 1;
    case 'ArrowLeft':
      return pinned < 0 ? at : at - 1;
    case 'ArrowDown':
    case 'ArrowUp': {
      const target = lines[Math.max(0, Math.min(lines.length - 1, line + (key === 'ArrowDown' ? 1 : -1)))];
      return target.start + Math.min(col, target.cps.length);
    }
    default:
      return null;
  }
}

/** A position inside a text of `total` positions. */
export function clampPosition(position: number, total: number): number {
  return Math.max(0, Math.min(position, total - 1));
}

/** A cell index wrapped into 0 … hidden − 1 (stepping past the last cell comes back to the first). */
export function wrapCell(cell: number, hidden: number): number {
  return ((cell % hidden) + hidden) % hidden;
}

export function formatScale(v: number, digits = 2): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(digits)));
}

/** The legend's three labels, with as few significant digits as keep them apart (a stretched scale may span 0.998–1). */
export function legendLabels(lo: number, mid: number, hi: number): [string, string, string] {
  let digits = 2;
  while (digits < 6 && new Set([lo, mid, hi].map((v) => formatScale(v, digits))).size < 3) digits++;
  return [formatScale(lo, digits), formatScale(mid, digits), formatScale(hi, digits)];
}

/** A symbol as the tooltip shows it: visible whitespace, and the unknown symbol named. */
export const describeSymbol = (s: string): string => (s === '\n' ? '⏎' : s === '\t' ? '⇥' : s === ' ' ? '␠' : s === '\uFFFD' ? '<unknown>' : s);
/** A probability as a whole percentage, never a misleading 0 % or 100 %. */
export const pct = (p: number): string => (p >= 0.995 ? '>99%' : p < 0.005 ? '<1%' : `${Math.round(p * 100)}%`);

export const TABS: readonly ActivationsTab[] = ['text', 'cells', 'here', 'saturation'];

/** What the page keeps across reloads (getState/setState): the tab only; the data comes from the host. */
export interface UiState {
  tab: ActivationsTab;
}

export function restoreState(raw: unknown): UiState {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return { tab: TABS.includes(s.tab as ActivationsTab) ? (s.tab as ActivationsTab) : 'text' };
}
