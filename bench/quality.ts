/**
 * Time to quality: the engine and the PyTorch peer trained for the same wall time on the same text,
 * one after the other on the whole machine, then both final models scored on held-out text by the
 * same evaluator (evaluate.ts).
 *
 *   node out/bench/quality.js --train DIR --held-out DIR[,DIR…] [--minutes 5] [--held-out-chars 300000]
 *        [--variant NAME="--lr-schedule constant" …] [--no-defaults] [--no-peer] [--peer-embedding 64] [--rounds 1]
 *
 * The engine runs as a user runs it: `lstm-lab train DIR --minutes X` with the CLI's defaults (its
 * automatic workers, its learning-rate schedule), plus whatever a `--variant` adds (repeatable; each is
 * one more engine run: this is how the schedules were compared). Its score is that of `best.ckpt`, the
 * checkpoint sampling and completions use. The peer is bench/peer.py as a PyTorch user writes it:
 * default initialisation, `nn.Embedding(V, 64)` (the issue's measurement; `--peer-embedding 0` for
 * one-hot), constant Adam 2e-3 (PEER_LR), clip 5, torch with one thread and OPENBLAS_NUM_THREADS=2, for the same
 * wall time, on the engine's encoding of the same training files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../src/engine/runtime/backend';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { DEFAULT_MODEL, DEFAULT_TRAIN, ModelConfig } from '../src/engine/nn/config';
import { readCorpus } from '../src/engine/data/corpus';
import { evaluateIds } from '../src/engine/training/evaluate';
import { CharRnn } from '../src/engine/nn/model';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { arg, has, PEER, peerUnavailable, PYTHON, readWeights, run } from './peerLink';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
/** The peer as a PyTorch user writes it: Adam 2e-3, constant. */
const PEER_LR = 2e-3;

interface Row {
  name: string;
  steps: number;
  chars: number;
  seconds: number;
  /** The engine's best validation loss during training (its own 50,000-character check), engine rows only. */
  validation: number | null;
  /** Cross-entropy of the final model on the training folder's held-out files (the validation split), all rows alike. */
  split: number;
  /** Cross-entropy on each --held-out folder, in their order. */
  heldOut: number[];
}

function variants(): { name: string; args: string[] }[] {
  const list = has('no-defaults') ? [] : [{ name: 'engine (CLI defaults)', args: [] as string[] }];
  process.argv.forEach((a, i) => {
    if (a !== '--variant') return;
    const v = process.argv[i + 1] ?? '';
    const eq = v.indexOf('=');
    list.push({ name: `engine ${v.slice(0, eq)}`, args: v.slice(eq + 1).split(/\s+/).filter(Boolean) });
  });
  return list;
}

async function score(config: ModelConfig, params: Map<string, Float32Array>, heldOut: Int32Array): Promise<number> {
  const model = new CharRnn(config, params);
  try {
    return (await evaluateIds(model, heldOut)).natsPerChar;
  } finally {
    for (const t of model.params.values()) t.dispose();
  }
}

async function main(): Promise<void> {
  if (!arg('train') || !arg('held-out')) {
    console.error('usage: node out/bench/quality.js --train DIR --held-out DIR[,DIR…] [--minutes 5] [--variant NAME="ARGS"] [--no-peer] [--rounds N]');
    process.exit(2);
  }
  const minutes = Number(arg('minutes', '5'));
  await initBackend('auto');
  const corpus = await readCorpus(arg('train')!);
  const vocab = Vocabulary.fromText(corpus.trainText, 256); // what `lstm-lab train` builds
  const held = await Promise.all(arg('held-out')!.split(',').map((dir) => readCorpus(dir, { validationFraction: 0 })));
  const heldIds = held.map((h) => vocab.encode(h.trainText).slice(0, Number(arg('held-out-chars', '300000'))));
  const splitIds = vocab.encode(corpus.validationText).slice(0, Number(arg('held-out-chars', '300000')));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-quality-'));
  const heldText = held.map((h, i) => `${heldIds[i].length.toLocaleString('en-US')} chars of ${h.root}`).join(', ');
  console.log(`train: ${corpus.trainText.length.toLocaleString('en-US')} chars of ${corpus.root}; held out: ${heldText}; ${minutes} min each, one after the other`);
  const scoreHeldOut = async (config: ModelConfig, params: Map<string, Float32Array>) => {
    const out: number[] = [];
    for (const ids of heldIds) out.push(await score(config, params, ids));
    return out;
  };
  const missing = has('no-peer') ? 'not asked for' : peerUnavailable();
  if (missing) console.log(`peer: skipped, ${missing}`);

  const runEngine = async (v: { name: string; args: string[] }): Promise<Row> => {
    const out = await run(process.execPath, [CLI, 'train', arg('train')!, '--minutes', String(minutes), '--out', work, '--json', '--sample-chars', '0', ...v.args], v.name, 2);
    const done = out.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'done');
    const ckpt = await loadCheckpoint(done.checkpoint);
    return {
      name: v.name, steps: done.step, chars: done.chars, seconds: done.seconds, validation: done.bestValLoss,
      split: await score(ckpt.header.model, ckpt.params, splitIds), heldOut: await scoreHeldOut(ckpt.header.model, ckpt.params),
    };
  };
  const embedding = Number(arg('peer-embedding', '64'));
  const peerName = `PyTorch (${embedding ? `embedding ${embedding}` : 'one-hot'})`;
  const runPeer = async (): Promise<Row> => {
    const idsFile = path.join(work, 'train.ids');
    if (!fs.existsSync(idsFile)) {
      const ids = vocab.encode(corpus.trainText);
      fs.writeFileSync(idsFile, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
    }
    const cfg: ModelConfig = { ...DEFAULT_MODEL, embedding, vocabSize: vocab.size };
    const weights = path.join(work, 'peer.weights.json');
    const out = await run(PYTHON, [
      PEER, '--ids', idsFile, '--vocab', String(vocab.size), '--model', cfg.kind, '--layers', String(cfg.layers), '--hidden', String(cfg.hidden),
      '--embedding', String(embedding), '--seq', String(DEFAULT_TRAIN.seqLength), '--batch', String(DEFAULT_TRAIN.batchSize),
      '--lr', String(PEER_LR), '--clip', String(DEFAULT_TRAIN.gradClip), '--seconds', String(minutes * 60), '--warmup', '0',
      '--infer-chars', '0', '--save', weights, '--json',
    ], 'peer', 2);
    const r = JSON.parse(out.trim().split('\n').pop()!);
    const w = readWeights(weights);
    return {
      name: `${peerName} ${r.torch}`, steps: r.steps, chars: r.steps * DEFAULT_TRAIN.seqLength * DEFAULT_TRAIN.batchSize,
      seconds: r.trainSeconds, validation: null, split: await score(cfg, w, splitIds), heldOut: await scoreHeldOut(cfg, w),
    };
  };

  // The legs of a round: each engine variant, then the peer. With --rounds > 1 every other round runs
  // them in reverse (A B, B A, …), so a machine that drifts faster or slower over the hour favours
  // neither side; the table then gives each round and each leg's mean over the rounds.
  const legs: { name: string; go: () => Promise<Row> }[] = variants().map((v) => ({ name: v.name, go: () => runEngine(v) }));
  if (!missing) legs.push({ name: peerName, go: runPeer });
  const rounds = Math.max(1, Math.floor(Number(arg('rounds', '1'))));
  const table: { round: number; leg: string; row: Row }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const leg of round % 2 === 1 ? legs : [...legs].reverse()) {
      const r = await leg.go();
      table.push({ round, leg: leg.name, row: r });
      const validation = r.validation === null ? '' : `, best validation ${r.validation.toFixed(3)}`;
      console.log(`  round ${round}, ${r.name}: ${r.steps} steps${validation}, validation split ${r.split.toFixed(3)}, held-out ${r.heldOut.map((x) => x.toFixed(3)).join(' / ')} nats/char`);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanRow = (leg: string): Row => {
    const rs = table.filter((t) => t.leg === leg).map((t) => t.row);
    const vals = rs.map((r) => r.validation).filter((x): x is number => x !== null);
    return {
      name: `${leg}, mean of ${rs.length} rounds`, steps: Math.round(mean(rs.map((r) => r.steps))), chars: mean(rs.map((r) => r.chars)), seconds: mean(rs.map((r) => r.seconds)),
      validation: vals.length ? mean(vals) : null, split: mean(rs.map((r) => r.split)), heldOut: rs[0].heldOut.map((_, i) => mean(rs.map((r) => r.heldOut[i]))),
    };
  };
  const heldHeads = held.map((h) => `| held-out (${path.relative(path.dirname(path.dirname(h.root)), h.root)}) | vs peer `).join('');
  console.log(`\n| ${minutes} min, whole machine | steps | chars/s | best validation while training | validation split | vs peer ${heldHeads}|`);
  console.log(`| --- | --- | --- | --- | --- | --- ${held.map(() => '| --- | --- ').join('')}|`);
  /** One row of the table; with `peer`, its differences from that row. */
  const print = (r: Row, peer: Row | undefined) => {
    const vs = (a: number, b: number | undefined) => (b !== undefined ? (a - b).toFixed(3) : '');
    const heldCells = r.heldOut.map((x, i) => `| ${x.toFixed(3)} | ${vs(x, peer?.heldOut[i])} `).join('');
    console.log(
      `| ${r.name} | ${r.steps.toLocaleString('en-US')} | ${Math.round(r.chars / r.seconds).toLocaleString('en-US')} | ${r.validation?.toFixed(3) ?? '–'} | ` +
        `${r.split.toFixed(3)} | ${vs(r.split, peer?.split)} ${heldCells}|`,
    );
  };
  for (let round = 1; round <= rounds; round++) {
    const rows = table.filter((t) => t.round === round);
    const peer = rows.find((t) => t.leg === peerName)?.row;
    for (const t of rows) print(rounds > 1 ? { ...t.row, name: `${t.row.name}, round ${round}` } : t.row, t.leg === peerName ? undefined : peer);
  }
  if (rounds > 1) {
    const means = legs.map((l) => meanRow(l.name));
    const peer = missing ? undefined : means[means.length - 1];
    for (const r of means) print(r, r === peer ? undefined : peer);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
