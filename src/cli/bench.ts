/**
 * The benchmark: this engine against the PyTorch peer (bench/peer.py), on the same text, in the same
 * run, alternating (ours, peer, ours, peer, …) so the machine's noise hits both. Prints training
 * chars/s for configs A (2×128) and B (3×512) at sequence 64, batch 32 — with the CLI's defaults,
 * i.e. the automatic workers rule — batch-1 inference chars/s and trace chars/s, with ratios to the
 * peer, where one single-process step's time goes, and writes the figures as JSON.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BackendPreference, currentBackend, initBackend } from '../engine/runtime/backend';
import { TruncatedBptt } from '../engine/data/bptt';
import { checkFolderCanBeMade, makeFolder } from '../engine/training/checkpoint';
import { ModelConfig } from '../engine/nn/config';
import { readCorpus } from '../engine/data/corpus';
import { countCodePoints } from '../engine/data/codePoints';
import { DataParallelStepper } from '../engine/training/dataParallel';
import { automaticWorkers } from '../engine/training/workerCount';
import { InferenceModel } from '../engine/inference/inference';
import { CharRnn } from '../engine/nn/model';
import { LocalStepper } from '../engine/training/stepper';
import { sampleStream } from '../engine/inference/sample';
import { profileSteps, StepProfile } from '../engine/runtime/stepProfile';
import { traceText } from '../engine/inference/trace';
import { Vocabulary } from '../engine/data/vocabulary';
import { MODEL_OPTIONS } from '../engine/training/options';
import { Random } from '../engine/nn/random';

export interface BenchOptions {
  config: 'A' | 'B' | 'all';
  seconds: number;
  rounds: number;
  text?: string;
  peer: boolean;
  out: string;
  backend: BackendPreference;
  json: boolean;
  packageRoot: string;
}

const CONFIGS: Record<'A' | 'B', { layers: number; hidden: number; seq: number; batch: number }> = {
  A: { layers: 2, hidden: 128, seq: 64, batch: 32 },
  B: { layers: 3, hidden: 512, seq: 64, batch: 32 },
};

interface EngineFigures {
  trainCharsPerSec: number;
  inferCharsPerSec: number;
  traceCharsPerSec?: number;
  finalLoss?: number;
  /** Where one step's time went (single process, after the timed steps). */
  profile?: StepProfile;
  /** Worker threads the training throughput was measured with (the CLI's automatic rule). */
  workers?: number;
  /**
   * With workers: ms per timed step, by part (DataParallelStepper.timings): the slowest worker's
   * forward + backward, the others' wait for it, the hand-over (waking the workers and seeing them
   * done, beyond the slowest's compute), the gradient sum and the update (optimiser + broadcast).
   */
  dataParallel?: { msPerStep: number; slowestWorker: number; waitingForSlowest: number; handover: number; gradientSum: number; update: number };
}

interface PeerFigures extends EngineFigures {
  torch?: string;
  blas?: string;
  skipped?: string;
}

const median = (a: number[]) => {
  const s = a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function log(opts: BenchOptions, line: string) {
  if (!opts.json) process.stdout.write(line + '\n');
}

async function measureOurs(cfg: (typeof CONFIGS)['A'], ids: Int32Array, vocab: Vocabulary, traceSample: string, seconds: number): Promise<EngineFigures> {
  // The CLI's default dropout: its masks are part of what a default step costs.
  const modelCfg: ModelConfig = { kind: 'lstm', layers: cfg.layers, hidden: cfg.hidden, embedding: 0, dropout: MODEL_OPTIONS.dropout.default, vocabSize: vocab.size };
  const model = CharRnn.create(modelCfg, 1);
  const rng = new Random(1);
  const batches = new TruncatedBptt(ids, cfg.batch, cfg.seq);
  // The single-process step of `lstm-lab train` (LocalStepper), synchronous so that its phases can be timed.
  const local = new LocalStepper(model, { batchSize: cfg.batch, seqLength: cfg.seq, gradClip: 5, optimizer: 'adam', rng, description: 'bench' });
  let loss = NaN;
  const step = () => {
    loss = local.stepNow(batches.next(), 2e-3).loss;
  };
  // Training throughput as `lstm-lab train` runs with its defaults: the automatic workers rule
  // (data-parallel worker threads on native with 2+ cores), else this thread.
  const workers = automaticWorkers(currentBackend().name, os.availableParallelism(), cfg.batch);
  const stepper = workers > 1 ? await DataParallelStepper.create({ model, batchSize: cfg.batch, seqLength: cfg.seq, workers, gradClip: 5, rng }) : null;
  const timedStep = stepper
    ? async () => {
        const r = await stepper.step(batches.next(), 2e-3);
        loss = r.loss;
      }
    : async () => step();
  for (let i = 0; i < 2; i++) await timedStep(); // warm-up
  if (stepper) Object.assign(stepper.timings, { steps: 0, workers: 0, compute: 0, idle: 0, reduce: 0, update: 0 });
  let steps = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds || steps < 2) {
    await timedStep();
    steps++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const t = stepper?.timings;
  const dataParallel = t && t.steps > 0
    ? { msPerStep: (elapsed * 1000) / steps, slowestWorker: t.compute / t.steps, waitingForSlowest: t.idle / t.steps, handover: (t.workers - t.compute) / t.steps, gradientSum: t.reduce / t.steps, update: t.update / t.steps }
    : undefined;
  await stepper?.dispose();
  const trainCharsPerSec = (steps * cfg.seq * cfg.batch) / elapsed;
  // Where one step's time goes: the single-process step, phase by phase.
  const profile = profileSteps(Math.max(2, Math.min(20, Math.round(steps / (4 * workers)))), step);
  const inf = new InferenceModel(modelCfg, vocab, model.values());
  // Batch-1 inference: generate character by character (feed, predict, sample), as the peer does.
  const inferBudget = Math.min(5, seconds / 2);
  let n = 0;
  const t1 = process.hrtime.bigint();
  const gen = sampleStream(inf, { length: 1e9, temperature: 1, seed: 1 });
  let el = 0;
  while (el < inferBudget) {
    for (let i = 0; i < 100; i++) gen.next();
    n += 100;
    el = Number(process.hrtime.bigint() - t1) / 1e9;
  }
  const inferCharsPerSec = n / el;
  const t2 = process.hrtime.bigint();
  traceText(inf, traceSample);
  const traceCharsPerSec = countCodePoints(traceSample) / (Number(process.hrtime.bigint() - t2) / 1e9);
  inf.dispose();
  await local.dispose();
  for (const t of model.params.values()) t.dispose();
  return { trainCharsPerSec, inferCharsPerSec, traceCharsPerSec, finalLoss: loss, profile, workers, dataParallel };
}

function runPeer(script: string, textFile: string, cfg: (typeof CONFIGS)['A'], seconds: number): PeerFigures {
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const args = [script, '--text', textFile, '--layers', String(cfg.layers), '--hidden', String(cfg.hidden), '--seq', String(cfg.seq), '--batch', String(cfg.batch), '--seconds', String(seconds), '--warmup', '2', '--infer-chars', cfg.hidden > 256 ? '1000' : '3000', '--json'];
  const r = spawnSync(python, args, { env: { ...process.env, OPENBLAS_NUM_THREADS: '2' }, encoding: 'utf8', timeout: (seconds * 4 + 120) * 1000 });
  if (r.error) return { trainCharsPerSec: NaN, inferCharsPerSec: NaN, skipped: `cannot run ${python}: ${r.error.message}` };
  const line = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).pop();
  if (!line) return { trainCharsPerSec: NaN, inferCharsPerSec: NaN, skipped: `peer printed no result (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}` };
  const j = JSON.parse(line);
  if (j.skipped) return { trainCharsPerSec: NaN, inferCharsPerSec: NaN, skipped: j.skipped };
  return { trainCharsPerSec: j.trainCharsPerSec, inferCharsPerSec: j.inferCharsPerSec, finalLoss: j.finalLoss, torch: j.torch, blas: j.blas };
}

export async function runBench(opts: BenchOptions): Promise<number> {
  const outFolder = path.dirname(path.resolve(opts.out));
  await checkFolderCanBeMade(outFolder); // before the minutes of measuring, not after
  const backend = await initBackend(opts.backend);
  const shared = path.resolve(opts.packageRoot, '..', 'shared', 'corpora', 'linux-mm');
  const source = opts.text ?? (fs.existsSync(shared) ? shared : opts.packageRoot);
  const corpus = await readCorpus(source, { validationFraction: 0 });
  const text = corpus.files.map((f) => f.text).join('\n').slice(0, 3_000_000);
  const vocab = Vocabulary.fromText(text, 256);
  const ids = vocab.encode(text);
  const traceSample = text.slice(0, 20_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-bench-'));
  const textFile = path.join(tmp, 'text.txt');
  fs.writeFileSync(textFile, text);
  const peerScript = path.join(opts.packageRoot, 'bench', 'peer.py');
  log(opts, `LSTM Lab bench: backend ${backend.description}`);
  log(opts, `text: ${source} (${ids.length.toLocaleString('en-US')} characters, vocabulary ${vocab.size}); ${opts.rounds} alternating round(s) of ${opts.seconds} s per engine and config`);
  const names = opts.config === 'all' ? (['A', 'B'] as const) : ([opts.config] as const);
  const results: Record<string, unknown> = {};
  for (const name of names) {
    const cfg = CONFIGS[name];
    const ours: EngineFigures[] = [];
    const peer: PeerFigures[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const o = await measureOurs(cfg, ids, vocab, traceSample, opts.seconds);
      ours.push(o);
      log(opts, `  ${name} round ${r + 1}: lstm-lab train ${Math.round(o.trainCharsPerSec)} chars/s (${o.workers} worker${o.workers === 1 ? '' : 's'}), infer ${Math.round(o.inferCharsPerSec)}, trace ${Math.round(o.traceCharsPerSec!)}`);
      if (opts.peer) {
        const p = runPeer(peerScript, textFile, cfg, opts.seconds);
        peer.push(p);
        log(opts, p.skipped ? `  peer skipped: ${p.skipped}` : `  ${name} round ${r + 1}: pytorch  train ${Math.round(p.trainCharsPerSec)} chars/s, infer ${Math.round(p.inferCharsPerSec)}`);
      }
    }
    const o = {
      trainCharsPerSec: median(ours.map((x) => x.trainCharsPerSec)),
      inferCharsPerSec: median(ours.map((x) => x.inferCharsPerSec)),
      traceCharsPerSec: median(ours.map((x) => x.traceCharsPerSec!)),
    };
    const pSkipped = peer.find((p) => p.skipped)?.skipped ?? (opts.peer ? undefined : 'disabled (--no-peer)');
    const p = pSkipped ? null : {
      trainCharsPerSec: median(peer.map((x) => x.trainCharsPerSec)),
      inferCharsPerSec: median(peer.map((x) => x.inferCharsPerSec)),
      torch: peer[0]?.torch,
      blas: peer[0]?.blas,
    };
    const ratio = p ? { train: o.trainCharsPerSec / p.trainCharsPerSec, infer: o.inferCharsPerSec / p.inferCharsPerSec } : null;
    const profile = ours[ours.length - 1].profile!;
    results[name] = { config: cfg, lstmLab: { ...o, stepProfile: profile }, pytorch: p, peerSkipped: pSkipped, ratio, rounds: { ours, peer } };
    log(opts, `  ${name}: where one step's ${profile.totalMsPerStep.toFixed(1)} ms go (one process, ${profile.steps} steps):`);
    for (const r of [...profile.msPerStep].sort((a, b) => b.ms - a.ms)) {
      log(opts, `    ${r.phase.padEnd(26)} ${r.ms.toFixed(2).padStart(8)} ms  ${((100 * r.ms) / profile.totalMsPerStep).toFixed(0).padStart(3)} %`);
    }
    const dp = ours[ours.length - 1].dataParallel;
    if (dp) {
      log(opts, `  ${name}: one step with ${ours[ours.length - 1].workers} workers, ${dp.msPerStep.toFixed(1)} ms (the last round, its timed steps):`);
      const parts: [string, number][] = [
        ['slowest worker: forward + backward', dp.slowestWorker],
        ['the others waiting for it (mean)', dp.waitingForSlowest],
        ['hand-over (wake, see done)', dp.handover],
        ['gradient sum', dp.gradientSum],
        ['optimiser + broadcast', dp.update],
      ];
      for (const [what, ms] of parts) log(opts, `    ${what.padEnd(36)} ${ms.toFixed(2).padStart(8)} ms`);
    }
    log(opts, `${name} (${cfg.layers}×${cfg.hidden}, seq ${cfg.seq}, batch ${cfg.batch}): train ${Math.round(o.trainCharsPerSec)} vs ${p ? Math.round(p.trainCharsPerSec) : '–'} chars/s${ratio ? ` = ${ratio.train.toFixed(2)}×` : ''};  batch-1 inference ${Math.round(o.inferCharsPerSec)} vs ${p ? Math.round(p.inferCharsPerSec) : '–'}${ratio ? ` = ${ratio.infer.toFixed(2)}×` : ''};  trace ${Math.round(o.traceCharsPerSec)} chars/s`);
  }
  const report = { event: 'bench', date: new Date().toISOString(), backend: backend.name, backendDescription: backend.description, notUsed: backend.notUsed, text: source, chars: ids.length, seconds: opts.seconds, rounds: opts.rounds, cpus: os.cpus().length, results };
  await makeFolder(outFolder);
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
  if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
  else log(opts, `figures written to ${opts.out}`);
  return 0;
}
