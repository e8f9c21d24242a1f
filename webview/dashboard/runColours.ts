/**
 * Each run's colour and dash pattern: one colour per run from the theme's chart palette (defined by
 * VS Code for light, dark and high-contrast themes), as the name of its CSS variable. A run keeps its
 * slot while it is listed; a new run takes the lowest slot no listed run holds. Runs past the sixth
 * reuse a colour with a dash pattern. No DOM (unit-tested in test/dashboardLogic.test.ts).
 */

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3]];

export class RunColours {
  private readonly slots = new Map<string, number>();

  /** `listed`: the runs the page shows now (a slot held by a run no longer listed is free). */
  constructor(private readonly listed: { has(runId: string): boolean }) {}

  private slotOf(runId: string): number {
    let slot = this.slots.get(runId);
    if (slot === undefined) {
      const used = new Set([...this.slots.entries()].filter(([id]) => this.listed.has(id)).map(([, s]) => s));
      slot = 0;
      while (used.has(slot)) slot++;
      this.slots.set(runId, slot);
    }
    return slot;
  }

  /** The CSS variable holding the run's colour. */
  colourVar(runId: string): string {
    return PALETTE[this.slotOf(runId) % PALETTE.length];
  }

  /** The run's dash pattern for the canvas ([] for a solid line). */
  dashOf(runId: string): number[] {
    return DASHES[Math.floor(this.slotOf(runId) / PALETTE.length) % DASHES.length];
  }
}
