/**
 * Training throughput, single process vs data-parallel worker threads (src/engine/training/dataParallel.ts).
 *
 *   node out/bench/dataParallel.js [--rounds 5] [--seconds 12] [--backends wasm,native] [--overhead]
 *
 * Config A: LSTM 2 layers × 128, sequence 64, batch 32, Adam, clip 5, on LSTM Lab's own sources.
 * For each backend: W=1 is the single-process step of train.ts (LocalStepper: CharRnn.run + norm + clip +
 * Optimizer.apply on this thread); W=2 is DataParallelStepper with 2 workers. --overhead adds the
 * stepper with 1 worker (the cost of the machinery without the parallelism).
 *
 * Every measurement is its own child process (one TF.js engine per process), and the configurations
 * alternate within each round (order reversed every other round), because the machine is shared and
 * noisy: compare the medians.
 *
 *   node out/bench/dataParallel.js --one --backend wasm --workers 2 [--stepper] --seconds 12
 * runs one measurement and prints one JSON line.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BackendName, initBackend } from '../src/engine/runtime/backend';
import { TruncatedBptt } from '../src/engine/data/bptt';
import { ModelConfig } from '../src/engine/nn/config';
import { DataParallelStepper } from '../src/engine/training/dataParallel';
import { CharRnn } from '../src/engine/nn/model';
import { LocalStepper } from '../src/engine/training/stepper';
import { nativeStatus } from '../src/engine/runtime/native';
import { Random } from '../src/engine/nn/random';
import { Vocabulary } from '../src/engine/data/vocabulary';

const ROOT = path.resolve(__dirname, '..', '..');
const T = 64, B = 32, CLIP = 5, LR = 2e-3, WARMUP = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function sourceText(): string {
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name)) parts.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(ROOT, 'src'));
  return parts.join('\n');
}

interface Measurement {
  backend: string;
  workers: number;
  stepper: boolean;
  description: string;
  steps: number;
  seconds: number;
  charsPerSec: number;
  msPerStep: number;
  /** Stepper only: ms per step waiting for the workers, summing gradients, updating + broadcasting. */
  phases?: { workers: number; compute: number; idle: number; reduce: number; update: number };
  /** 1-minute load average of the machine around the measurement (2 cores: above ~2 means other jobs competed). */
  load: number;
}

async function one(): Promise<Measurement> {
  const backend = arg('backend') as BackendName;
  const W = Number(arg('workers') ?? 1);
  const useStepper = process.argv.includes('--stepper') || W > 1;
  const seconds = Number(arg('seconds') ?? 12);
  // --coordinator X: the training thread (optimiser, gradient sum) on backend X, the workers on --backend.
  const info = await initBackend((arg('coordinator') as BackendName | undefined) ?? backend);
  const text = sourceText();
  const vocab = Vocabulary.fromText(text, 256);
  const ids = vocab.encode(text);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 128, embedding: 0, dropout: Number(arg('dropout') ?? 0), vocabSize: vocab.size };
  const model = CharRnn.create(cfg, 1);
  const rng = new Random(1);
  const batches = new TruncatedBptt(ids, B, T);
  let description = info.description;
  let step: () => Promise<void>;
  let stepper: DataParallelStepper | null = null;
  let release = async (): Promise<void> => {};
  if (useStepper) {
    stepper = await DataParallelStepper.create({ model, batchSize: B, seqLength: T, workers: W, backend, gradClip: CLIP, rng, optimizer: 'adam' });
    description = stepper.description;
    step = async () => {
      const r = await stepper!.step(batches.next(), LR);
      if (!r.ok) throw new Error('non-finite step');
    };
  } else {
    const local = new LocalStepper(model, { batchSize: B, seqLength: T, gradClip: CLIP, optimizer: 'adam', rng, description });
    step = async () => {
      if (!(await local.step(batches.next(), LR, false)).ok) throw new Error('non-finite step');
      await new Promise((r) => setImmediate(r)); // as train.ts does
    };
    release = () => local.dispose();
  }
  for (let i = 0; i < WARMUP; i++) await step();
  if (stepper) Object.assign(stepper.timings, { steps: 0, workers: 0, compute: 0, idle: 0, reduce: 0, update: 0 });
  const load0 = os.loadavg()[0];
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || steps < 3) {
    await step();
    steps++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  let phases: Measurement['phases'];
  if (stepper) {
    const t = stepper.timings, n = t.steps;
    phases = { workers: t.workers / n, compute: t.compute / n, idle: t.idle / n, reduce: t.reduce / n, update: t.update / n };
  }
  await stepper?.dispose();
  await release();
  return { backend, workers: W, stepper: useStepper, description, steps, seconds: elapsed, charsPerSec: (steps * T * B) / elapsed, msPerStep: (elapsed * 1000) / steps, phases, load: (load0 + os.loadavg()[0]) / 2 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function orchestrate(): void {
  const rounds = Number(arg('rounds') ?? 5);
  const seconds = Number(arg('seconds') ?? 12);
  let backends = (arg('backends') ?? 'wasm,native').split(',') as BackendName[];
  if (backends.includes('native') && !nativeStatus().available) {
    console.log(`native backend unavailable (${nativeStatus().reason}); skipped`);
    backends = backends.filter((b) => b !== 'native');
  }
  const configs: { label: string; args: string[] }[] = [];
  for (const b of backends) {
    configs.push({ label: `${b} W=1 (single process)`, args: ['--backend', b, '--workers', '1'] });
    if (process.argv.includes('--overhead')) configs.push({ label: `${b} W=1 (stepper, 1 worker)`, args: ['--backend', b, '--workers', '1', '--stepper'] });
    configs.push({ label: `${b} W=2 (stepper)`, args: ['--backend', b, '--workers', '2'] });
  }
  console.log(`config A: lstm 2×128, seq ${T}, batch ${B}; ${rounds} rounds × ${configs.length} configurations × ${seconds} s, alternating`);
  const results = new Map<string, Measurement[]>(configs.map((c) => [c.label, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? configs : [...configs].reverse();
    for (const c of order) {
      const p = spawnSync(process.execPath, [__filename, '--one', '--seconds', String(seconds), ...c.args], { encoding: 'utf8' });
      const line = p.stdout.trim().split('\n').pop() ?? '';
      if (p.status !== 0 || !line.startsWith('{')) {
        console.log(`round ${r + 1} ${c.label}: failed (${p.status}) ${p.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const m = JSON.parse(line) as Measurement;
      results.get(c.label)!.push(m);
      console.log(`round ${r + 1} ${c.label.padEnd(30)} ${Math.round(m.charsPerSec).toString().padStart(6)} chars/s  ${m.msPerStep.toFixed(0).padStart(5)} ms/step  (load ${m.load.toFixed(1)}; ${m.steps} steps${m.phases ? `; per step: workers ${m.phases.workers.toFixed(0)} ms (slowest computes ${m.phases.compute.toFixed(0)}), sum ${m.phases.reduce.toFixed(1)} ms, update ${m.phases.update.toFixed(0)} ms` : ''})`);
      if (r === 0) console.log(`    ${m.description}`);
    }
  }
  console.log('\nmedians (chars/s; min–max):');
  const med = new Map<string, number>();
  for (const c of configs) {
    const xs = results.get(c.label)!.map((m) => m.charsPerSec);
    if (!xs.length) continue;
    med.set(c.label, median(xs));
    console.log(`  ${c.label.padEnd(30)} ${Math.round(median(xs)).toString().padStart(6)}  (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}, n=${xs.length})`);
  }
  for (const b of backends) {
    const one = med.get(`${b} W=1 (single process)`), two = med.get(`${b} W=2 (stepper)`);
    if (one && two) console.log(`  ${b}: W=2 / W=1 = ${(two / one).toFixed(2)}×`);
  }
}

if (process.argv.includes('--one')) {
  one()
    .then((m) => {
      process.stdout.write(JSON.stringify(m) + '\n');
      process.exit(0);
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    });
} else {
  orchestrate();
}
