/**
 * The end-to-end test's workspace: a few KB of C in several files, written afresh each run
 * (code-server saves edits), and its .vscode/settings.json (how many steps a training takes).
 */
import * as fs from 'fs';
import * as path from 'path';

export function cFile(seed: number, functions: number): string {
  const types = ['int', 'long', 'unsigned int', 'size_t'];
  const out: string[] = ['#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>', '#include "util.h"', ''];
  out.push(`struct node_${seed} {\n\tint key;\n\tint value;\n\tstruct node_${seed} *next;\n};\n`);
  for (let i = 0; i < functions; i++) {
    const t = types[(seed + i) % types.length];
    const name = ['count', 'find', 'sum', 'push', 'pop', 'check'][(seed * 3 + i) % 6] + `_${seed}_${i}`;
    out.push(`/* ${name}: walks the list and ${i % 2 ? 'sums the values' : 'counts the matches'} */
static ${t} ${name}(struct node_${seed} *head, int key)
{
\t${t} total = 0;
\tstruct node_${seed} *n;

\tfor (n = head; n != NULL; n = n->next) {
\t\tif (n->key == key) {
\t\t\ttotal += ${i % 2 ? 'n->value' : '1'};
\t\t} else if (n->key > ${i + seed}) {
\t\t\tbreak;
\t\t}
\t}
\tif (total == 0)
\t\tfprintf(stderr, "${name}: no key %d\\n", key);
\treturn total;
}
`);
  }
  return out.join('\n');
}

/** The first training's length: a few seconds with the smallest preset. */
const FIRST_STEPS = 400;
/** Steps between evaluations (each one plots a validation point and writes the checkpoints). */
export const EVAL_EVERY = 100;
/** The second training's length: far more than it gets before the test cancels it. */
export const LONG_STEPS = 20_000;

/** Writes the fixture's .vscode/settings.json (the workbench picks up a change within a second or so). */
export function writeFixtureSettings(dir: string, steps: number): void {
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
    'lstmLab.train.steps': steps,
    'lstmLab.train.evalEvery': EVAL_EVERY,
    'lstmLab.train.minutes': 0,
    ...(process.env.LSTM_LAB_E2E_SETTINGS ? JSON.parse(process.env.LSTM_LAB_E2E_SETTINGS) as Record<string, unknown> : {}),
  }, null, 2) + '\n');
}

export function writeFixture(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  writeFixtureSettings(dir, FIRST_STEPS);
  // Every file a few KB, so the one the corpus holds out for validation is a real sample.
  const prototypes = Array.from({ length: 40 }, (_, i) => `int ${['count', 'find', 'sum', 'push', 'pop', 'check'][i % 6]}_${i}(struct node *head, int key);\n`).join('');
  fs.writeFileSync(path.join(dir, 'util.h'), `#ifndef UTIL_H\n#define UTIL_H\n\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n\nstruct node;\nint util_clamp(int v, int lo, int hi);\n${prototypes}\n#endif\n`);
  for (const [i, name] of ['list.c', 'hash.c', 'queue.c', 'tree.c', 'parse.c'].entries()) {
    fs.writeFileSync(path.join(dir, name), cFile(i + 1, 8));
  }
  fs.writeFileSync(path.join(dir, 'main.c'), '#include <stdio.h>\n#include "util.h"\n\nint util_clamp(int v, int lo, int hi)\n{\n\treturn MIN(MAX(v, lo), hi);\n}\n\nint main(void)\n{\n\tint i;\n\n\tfor (i = 0; i < 10; i++)\n\t\tprintf("%d\\n", util_clamp(i, 2, 8));\n\treturn 0;\n}\n' + cFile(9, 4));
}
