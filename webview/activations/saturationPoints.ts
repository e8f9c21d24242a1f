/**
 * The gate-saturation plot's logic that needs no DOM (unit-tested in test/activationsPanelLogic.test.ts):
 * the point nearest the pointer, and the units that act as integrators (open most of the time and
 * rarely shut).
 */

/** One gate unit drawn at (x, y) in the plot's pixels. */
export interface PlotPoint {
  x: number;
  y: number;
  layer: number;
  gate: string;
  unit: number;
  left: number;
  right: number;
}

/** The point nearest (x, y) within 8 pixels, or null. */
export function nearestPoint(points: readonly PlotPoint[], x: number, y: number): PlotPoint | null {
  let best: PlotPoint | null = null;
  let bestD = 64; // within 8 px
  for (const p of points) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
}

/** Units right-saturated (open) more than half the time and left-saturated (shut) under 10 %. */
export function integratorCount(left: ArrayLike<number>, right: ArrayLike<number>): number {
  return Array.from(right).filter((r, u) => r > 0.5 && left[u] < 0.1).length;
}
