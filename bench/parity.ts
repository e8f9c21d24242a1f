/**
 * Learning per step against the PyTorch peer (bench/peer.py), on the same text and the same batches.
 *
 *   node out/bench/parity.js --train DIR --held-out DIR [--models lstm,gru,rnn] [--check-steps 20]
 *                            [--steps 1000] [--peer-inputs onehot,64] [--held-out-chars 200000] [--skip-curves]
 *
 * 1. Same start: the engine's initial weights (its default initialisation) are written out and loaded
 *    into the peer; both train `--check-steps` steps on the same symbol ids in the same order (B
 *    contiguous streams, state carried, `lstm-lab train`'s batches). Per step: both losses and both
 *    gradient norms before clipping, and their relative differences. They must agree to float tolerance;
 *    the script exits 1 when they do not.
 * 2. Learning curves: each from its own default initialisation, `--steps` steps, the engine's
 *    `train()` with the CLI's defaults (its default dropout included) against the peer as a PyTorch
 *    user writes it (default init, no dropout, one `nn.Embedding(V, E)` or one-hot input per
 *    `--peer-inputs`). The same-start check runs the engine without dropout, as the peer. Each process is pinned to its own
 *    core with one BLAS thread, side by side. Printed: the mean training loss of the last 100 steps every
 *    100 steps, and the held-out cross-entropy of each final model on `--held-out` text (files neither
 *    trained on), measured by the same evaluator (evaluate.ts) for both.
 *
 * The engine's leg runs in a child process of this script (`--leg engine`) so it can be pinned too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { arg, has, PEER, peerUnavailable, pinned, PYTHON, readLog, readWeights, run, writeWeights } from './peerLink';
import { initBackend } from '../src/engine/runtime/backend';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { DEFAULT_MODEL, DEFAULT_TRAIN, ModelConfig } from '../src/engine/nn/config';
import { readCorpus } from '../src/engine/data/corpus';
import { evaluateIds } from '../src/engine/training/evaluate';
import { CellKind } from '../src/engine/nn/kernels';
import { CharRnn, initialParams } from '../src/engine/nn/model';
import { train } from '../src/engine/training/train';
import { Vocabulary } from '../src/engine/data/vocabulary';

/** Relative agreement of loss and gradient norm over the same-start steps (float32, different summation orders). */
const TOLERANCE = 2e-3;
/** Both sides learn at Adam 2e-3, constant: PyTorch's usual choice, the issue's measurement. */
const PEER_LR = 2e-3;

// ---------------------------------------------------------------- the engine's leg (a child process)

async function engineLeg(): Promise<void> {
  await initBackend('auto');
  const corpus = await readCorpus(arg('train')!);
  const kind = arg('model') as CellKind;
  const steps = Number(arg('steps'));
  const log = fs.openSync(arg('log')!, 'w');
  const init = arg('init');
  const out = arg('out')!;
  await train(corpus, {
    // The same-start check passes --dropout 0 (the peer draws no masks); the curves take the engine's default.
    model: arg('dropout') !== undefined ? { kind, dropout: Number(arg('dropout')) } : { kind },
    // A constant learning rate, as the peer's: this compares what is learnt per step, not schedules.
    train: { steps, evalEvery: 1e9, sampleChars: 0, seed: Number(arg('seed', '1')), workers: 1, lrSchedule: 'constant', learningRate: PEER_LR },
    outDir: out,
    runId: 'run',
    progressEveryMs: 0,
    initialParams: init ? readWeights(init) : undefined,
    onEvent: (e) => {
      if (e.event === 'progress') fs.writeSync(log, JSON.stringify({ step: e.step, loss: e.stepLoss, gradNorm: e.gradNorm }) + '\n');
    },
  });
  fs.closeSync(log);
}

// ---------------------------------------------------------------- the orchestrator

interface Leg {
  log: string;
  weights: () => Promise<Map<string, Float32Array>>;
  config: ModelConfig;
}

/** The engine leg's arguments; with `start`, from those initial weights and that model's dropout. */
function engineArgs(kind: CellKind, steps: number, dir: string, start?: { init: string; dropout: number }): string[] {
  const a = [__filename, '--leg', 'engine', '--train', arg('train')!, '--model', kind, '--steps', String(steps), '--log', path.join(dir, 'engine.jsonl'), '--out', dir];
  return start ? [...a, '--init', start.init, '--dropout', String(start.dropout)] : a;
}

function peerArgs(cfg: ModelConfig, steps: number, ids: string, dir: string, name: string, init?: string): string[] {
  const a = [
    PEER, '--ids', ids, '--vocab', String(cfg.vocabSize), '--model', cfg.kind, '--layers', String(cfg.layers), '--hidden', String(cfg.hidden),
    '--embedding', String(cfg.embedding), '--seq', String(DEFAULT_TRAIN.seqLength), '--batch', String(DEFAULT_TRAIN.batchSize),
    '--lr', String(PEER_LR), '--clip', String(DEFAULT_TRAIN.gradClip), '--steps', String(steps), '--infer-chars', '0',
    '--log', path.join(dir, `${name}.jsonl`), '--save', path.join(dir, `${name}.weights.json`), '--json',
  ];
  return init ? [...a, '--init', init] : a;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '  –  ');

async function sameStart(kind: CellKind, ids: string, vocabSize: number, work: string): Promise<boolean> {
  const steps = Number(arg('check-steps', '20'));
  const cfg: ModelConfig = { ...DEFAULT_MODEL, kind, vocabSize, dropout: 0 };
  const dir = fs.mkdtempSync(path.join(work, `same-${kind}-`));
  const init = path.join(dir, 'init.json');
  writeWeights(init, initialParams(cfg, DEFAULT_TRAIN.seed), cfg);
  const e = pinned(0, process.execPath, engineArgs(kind, steps, dir, { init, dropout: cfg.dropout }));
  const p = pinned(1, PYTHON, peerArgs(cfg, steps, ids, dir, 'peer', init));
  await Promise.all([run(e.cmd, e.args, 'engine'), run(p.cmd, p.args, 'peer')]);
  const a = readLog(path.join(dir, 'engine.jsonl')), b = readLog(path.join(dir, 'peer.jsonl'));
  console.log(`\n${kind.toUpperCase()} ${cfg.layers}×${cfg.hidden}, same initial weights, same batches (first ${steps} steps)`);
  console.log('step  engine loss  peer loss   rel.diff   engine |g|  peer |g|   rel.diff');
  let worst = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const dl = rel(a[i].loss, b[i].loss), dg = rel(a[i].gradNorm, b[i].gradNorm);
    worst = Math.max(worst, dl, dg);
    console.log(`${String(a[i].step).padStart(4)}  ${a[i].loss.toFixed(5).padStart(11)}  ${b[i].loss.toFixed(5).padStart(9)}  ${dl.toExponential(1).padStart(9)}  ${a[i].gradNorm.toFixed(4).padStart(10)}  ${b[i].gradNorm.toFixed(4).padStart(8)}  ${dg.toExponential(1).padStart(9)}`);
  }
  const ok = a.length === steps && b.length === steps && worst <= TOLERANCE;
  console.log(`${ok ? 'agree' : 'DISAGREE'}: largest relative difference ${worst.toExponential(2)} (tolerance ${TOLERANCE})`);
  return ok;
}

async function curves(kind: CellKind, ids: string, vocabSize: number, heldOut: Int32Array, work: string): Promise<void> {
  const steps = Number(arg('steps', '1000'));
  const inputs = (arg('peer-inputs', '64') ?? '64').split(',');
  const dir = fs.mkdtempSync(path.join(work, `curves-${kind}-`));
  const legs: { name: string; leg: Leg }[] = [];
  const engineCfg: ModelConfig = { ...DEFAULT_MODEL, kind, vocabSize };
  const e = pinned(0, process.execPath, engineArgs(kind, steps, dir));
  const enginePromise = run(e.cmd, e.args, 'engine');
  legs.push({
    name: 'engine',
    leg: { log: path.join(dir, 'engine.jsonl'), config: engineCfg, weights: async () => (await loadCheckpoint(path.join(dir, 'run'), 'last')).params },
  });
  // The peer variants run one after another on the other core, while the engine runs.
  const peerPromise = (async () => {
    for (const input of inputs) {
      const embedding = input === 'onehot' ? 0 : Number(input);
      const cfg: ModelConfig = { ...engineCfg, embedding };
      const name = `peer-${input === 'onehot' ? 'onehot' : `embed${embedding}`}`;
      const p = pinned(1, PYTHON, peerArgs(cfg, steps, ids, dir, name));
      await run(p.cmd, p.args, name);
      legs.push({ name, leg: { log: path.join(dir, `${name}.jsonl`), config: cfg, weights: async () => readWeights(path.join(dir, `${name}.weights.json`)) } });
    }
  })();
  await Promise.all([enginePromise, peerPromise]);

  console.log(`\n${kind.toUpperCase()} ${engineCfg.layers}×${engineCfg.hidden}, each from its own default initialisation: mean training loss of the last 100 steps (nats/char)`);
  const logs = legs.map(({ leg }) => readLog(leg.log));
  console.log('step   ' + legs.map(({ name }) => name.padStart(14)).join(''));
  for (let s = 100; s <= steps; s += 100) {
    const row = logs.map((l) => {
      const w = l.filter((x) => x.step > s - 100 && x.step <= s);
      return w.length ? w.reduce((t, x) => t + x.loss, 0) / w.length : NaN;
    });
    console.log(String(s).padStart(5) + '  ' + row.map((v) => f3(v).padStart(14)).join(''));
  }
  const held: string[] = [];
  for (const { name, leg } of legs) {
    const model = new CharRnn(leg.config, await leg.weights());
    const ev = await evaluateIds(model, heldOut);
    held.push(f3(ev.natsPerChar).padStart(14));
    for (const t of model.params.values()) t.dispose();
    void name;
  }
  console.log(`held-out (${heldOut.length.toLocaleString('en-US')} chars of ${arg('held-out')})`);
  console.log('       ' + held.join(''));
}

async function main(): Promise<void> {
  if (arg('leg') === 'engine') return engineLeg();
  if (!arg('train') || !arg('held-out')) {
    console.error('usage: node out/bench/parity.js --train DIR --held-out DIR [--models lstm,gru,rnn] [--check-steps 20] [--steps 1000] [--peer-inputs onehot,64]');
    process.exit(2);
  }
  const missing = peerUnavailable();
  if (missing) {
    console.log(`parity: skipped, ${missing}`);
    return;
  }
  await initBackend('auto');
  const corpus = await readCorpus(arg('train')!);
  const vocab = Vocabulary.fromText(corpus.trainText, 256); // what train() builds
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-parity-'));
  const idsFile = path.join(work, 'train.ids');
  const ids = vocab.encode(corpus.trainText);
  fs.writeFileSync(idsFile, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
  const held = await readCorpus(arg('held-out')!, { validationFraction: 0 });
  const heldIds = vocab.encode(held.trainText).slice(0, Number(arg('held-out-chars', '200000')));
  console.log(`train: ${corpus.trainText.length.toLocaleString('en-US')} chars of ${corpus.root}, vocabulary ${vocab.size}; held out: ${held.root}`);
  let ok = true;
  for (const kind of (arg('models', 'lstm,gru,rnn') ?? '').split(',') as CellKind[]) {
    ok = (await sameStart(kind, idsFile, vocab.size, work)) && ok;
    if (!has('skip-curves')) await curves(kind, idsFile, vocab.size, heldIds, work);
  }
  fs.rmSync(work, { recursive: true, force: true });
  if (!ok) process.exit(1);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
