/**
 * `lstm-lab gradients CHECKPOINT PATH`: gradient flow through time — ‖∂L_t/∂h_{t−k}‖ (and for the
 * LSTM ‖∂L_t/∂c_{t−k}‖) against the lag k, per layer, averaged over positions of the text in PATH
 * (a file or a folder). What each lag means: src/analysis/gradientFlow.ts.
 * `--json` prints one line `{"event":"gradients","kind","lags","positions","layers":[{"layer","norms":[…],"cellNorms"?:[…]},…],…}`.
 */
import type { OptionSpec, ParsedOptions } from './args';
import type { Command } from './commands';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { readCorpus } from '../engine/data/corpus';
import { DEFAULT_GRADIENT_LAGS, DEFAULT_GRADIENT_POSITIONS, GradientFlow, gradientFlow } from '../analysis/gradientFlow';

const OPTIONS: OptionSpec[] = [
  { name: 'lags', type: 'int', help: 'lags 0 … N−1 (each position costs one batch of N−1 streams × N−1 steps)', default: DEFAULT_GRADIENT_LAGS, min: 2, max: 1024 },
  { name: 'positions', type: 'int', help: 'positions of the text averaged over, spread evenly', default: DEFAULT_GRADIENT_POSITIONS, min: 1 },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

/** The lags shown in the text table: 0, 1, 2, 4, … and the last. */
function shownLags(n: number): number[] {
  const lags = [0];
  for (let k = 1; k < n; k *= 2) lags.push(k);
  if (lags[lags.length - 1] !== n - 1) lags.push(n - 1);
  return lags;
}

export function formatGradients(g: GradientFlow): string {
  const lags = shownLags(g.lags);
  const cols = lags.map((k) => `k=${k}`.padStart(10));
  const e = (x: number) => x.toExponential(2).padStart(10);
  const rows: string[] = [];
  for (const l of g.layers) {
    rows.push(`layer ${l.layer} ‖∂L/∂h‖ ${lags.map((k) => e(l.norms[k])).join('')}`);
    if (l.cellNorms) rows.push(`layer ${l.layer} ‖∂L/∂c‖ ${lags.map((k) => e(l.cellNorms![k])).join('')}`);
  }
  return [`${g.kind}: mean gradient norm of the loss at t against the state at t−k, over ${g.positions} positions`, `${''.padEnd(18)}${cols.join('')}`, ...rows].join('\n');
}

export const gradientsCommand: Command = {
  name: 'gradients',
  summary: 'gradient flow through time: ‖∂L_t/∂h_{t−k}‖ against the lag k, per layer',
  usage: 'lstm-lab gradients CHECKPOINT PATH [--lags N] [--positions N] [--json]',
  positionals: [{ name: 'checkpoint', required: true }, { name: 'path', required: true }],
  options: OPTIONS,
  async run(pos, o: ParsedOptions) {
    await initBackend(o.backend as BackendPreference);
    const ckpt = await loadCheckpoint(pos.checkpoint!);
    if (ckpt.note) process.stderr.write(`note: ${ckpt.note}\n`);
    const corpus = await readCorpus(pos.path!, { validationFraction: 0 });
    const t0 = Date.now();
    const g = gradientFlow(ckpt.header.model, ckpt.vocabulary, ckpt.params, corpus.files.map((f) => f.text), { lags: o.lags as number, positions: o.positions as number });
    const seconds = (Date.now() - t0) / 1000;
    if (o.json === true) process.stdout.write(JSON.stringify({ event: 'gradients', checkpoint: ckpt.path, ...g, seconds }) + '\n');
    else process.stdout.write(formatGradients(g) + `\n(${corpus.files.length} file(s), ${seconds.toFixed(1)} s)\n`);
    return 0;
  },
};
