/** Small fixtures written by the tests themselves (never ../shared). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Random } from '../../src/engine/nn/random';
import type { CellsRecord } from '../../src/analysis/cellsRecord';

export function tempDir(prefix = 'lstm-lab-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A little C, varied enough to train on for a few steps. */
export function cSource(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(`/* helper ${i}: returns the ${i % 3 === 0 ? 'sum' : 'difference'} */
static int helper_${i}(int a, int b)
{
\tif (a > b && b != ${i}) {
\t\tprintk("value %d\\n", a);
\t\treturn a ${i % 3 === 0 ? '+' : '-'} b;
\t}
\treturn ${i};
}
`);
  }
  return parts.join('\n');
}

export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** Uniform numbers in [0, 1) from the engine's seedable generator. */
export function uniform(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

/**
 * A cells-over-time record (src/analysis/cellsRecord.ts) at `step` with these best scores: 'in-…'
 * concepts are AUCs, the others |correlation|s; characters and seconds follow from the step.
 */
export function cellsRecordFixture(step: number, scores: Record<string, number>): CellsRecord {
  return {
    step, chars: step * 2048, seconds: step / 10, sampleChars: 20_000, sampleFiles: 2, ms: 250,
    concepts: Object.entries(scores).map(([concept, score], i) => ({
      concept, title: `title of ${concept}`, scoreKind: concept.startsWith('in-') ? 'auc' : 'correlation', score, layer: 1 + (i % 2), cell: 3 * i, quantity: 'tanh(c)', direction: i % 3 === 2 ? -1 : 1,
    })),
  };
}
