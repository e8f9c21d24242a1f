/**
 * How fast the activation views colour a file, measured on the extension's own path minus the editor:
 * the host's InferenceClient and DocumentTrace driving the real inference worker
 * (out/src/extension/inferenceWorker.js) on a config-A-sized LSTM (2 layers × 128; the weights do not
 * change the cost, so a random model stands in unless --checkpoint names a trained one).
 *
 *   node out/bench/activationsLatency.js [--file FILE] [--checkpoint CKPT] [--report OUT.txt]
 *
 *   whole file      a 2,000-line C file, traced from nothing (target: 3 s);
 *   edit in sight   one character typed at line 1,000 with lines 985–1,025 in sight: time until
 *                   those lines have values (target: 300 ms, less the debounce), and until the
 *                   rest of the file has.
 *
 * It reports; it checks nothing about time (the machine may be busy). --file measures another file;
 * --report also writes the report lines to a file. Not part of `npm test`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { saveCheckpoint } from '../src/engine/training/checkpoint';
import { ModelConfig } from '../src/engine/nn/config';
import { initialParams } from '../src/engine/nn/model';
import { Vocabulary } from '../src/engine/data/vocabulary';
import { DocumentTrace, TraceProgress } from '../src/extension/activations/documentTrace';
import { InferenceClient } from '../src/extension/activations/inferenceClient';
import { cSource, tempDir } from '../test/support/fixtures';
import { arg } from './peerLink';

function twoThousandLines(): string {
  const file = arg('file');
  if (file) return fs.readFileSync(file, 'utf8');
  return cSource(200).split('\n').slice(0, 2000).join('\n');
}

/** The checkpoint to measure, and the temporary folder made for it (null for --checkpoint). */
async function checkpoint(text: string): Promise<{ file: string; made: string | null }> {
  const given = arg('checkpoint');
  if (given) return { file: given, made: null };
  const vocab = Vocabulary.fromText(text, 100);
  const cfg: ModelConfig = { kind: 'lstm', layers: 2, hidden: 128, embedding: 0, dropout: 0, vocabSize: vocab.size };
  const made = tempDir('lstm-lab-latency-');
  const file = path.join(made, 'configA.ckpt');
  await saveCheckpoint(file, {
    header: {
      runId: 'latency', role: 'export', model: cfg,
      train: { seqLength: 64, batchSize: 32, optimizer: 'adam', learningRate: 2e-3, lrDecay: 1, lrDecayEvery: 1000, gradClip: 5, steps: 1, minutes: 0, evalEvery: 1, evalChars: 0, sampleChars: 0, seed: 1 },
      vocabulary: vocab.toJSON(), step: 0, charsSeen: 0, secondsTrained: 0, data: { position: 0, epoch: 0 }, rngState: 0, lrScale: 1,
      optimizer: null, bestValLoss: null, lastEval: null, backend: 'cpu', corpus: null,
    },
    params: initialParams(cfg, 1), optimizer: null, state: null,
  });
  return { file, made };
}

async function main(): Promise<void> {
  const text = twoThousandLines();
  const ckpt = await checkpoint(text);
  const repo = path.join(__dirname, '..', '..');
  const addon = path.join(repo, 'native', 'build', 'Release', 'lstm_lab.node');
  if (fs.existsSync(addon)) process.env.LSTM_LAB_NATIVE ??= addon;
  const client = new InferenceClient(repo, (l) => console.log(`  ${l}`), 'latency', 0, path.join(__dirname, '..', 'src', 'extension', 'inferenceWorker.js'));
  try {
    const info = await client.ensureModel(ckpt.file);
    const H = info.hidden;
    const waiters = new Set<(p: TraceProgress) => void>();
    const progress: TraceProgress[] = [];
    const dt = new DocumentTrace(256, () => ({ h: [new Float32Array(H), new Float32Array(H)], c: [new Float32Array(H), new Float32Array(H)] }), {
      trace: async (req, stride) => {
        const r = await client.request({ type: 'trace', text: req.text, state: req.state, offset: req.start, stride, layer: req.layer, quantity: req.quantity });
        return { values: r.values, anchorAt: r.anchorAt, anchors: r.anchors };
      },
    }, (p) => {
      progress.push(p);
      for (const w of [...waiters]) w(p);
    });
    const until = (kind: TraceProgress['kind']) => new Promise<TraceProgress>((resolve) => {
      const w = (p: TraceProgress) => {
        if (p.kind !== kind) return;
        waiters.delete(w);
        resolve(p);
      };
      waiters.add(w);
    });

    // Whole file, from nothing (the lines in sight: the first 40).
    const lines = text.split('\n');
    const cpOfLine = (l: number) => Array.from(lines.slice(0, l).join('\n')).length + (l > 0 ? 1 : 0);
    dt.setView(1, 'tanh(c)', H);
    let done = until('complete');
    const t0 = performance.now();
    dt.setText(text);
    dt.setPriority([[0, cpOfLine(40)]]);
    const full = await done;
    const wholeMs = performance.now() - t0;
    const firstVisible = progress.find((p) => p.kind === 'visible');
    if (full.traced !== dt.cache.length) throw new Error(`the whole-file trace covered ${full.traced} of ${dt.cache.length} code points`);

    // One character typed at line 1,000, lines 985–1,025 in sight.
    progress.length = 0;
    const at = lines.slice(0, 999).join('\n').length + 1 + 4;
    const edited = text.slice(0, at) + 'x' + text.slice(at);
    const visible = until('visible');
    done = until('complete');
    const t1 = performance.now();
    dt.setText(edited);
    dt.setPriority([[cpOfLine(985), cpOfLine(1025)]]);
    const v = await visible;
    const visibleMs = performance.now() - t1;
    const rest = await done;
    const restMs = performance.now() - t1;
    const report = [
      `model ${info.kind} ${info.layers}×${info.hidden}, kernels ${info.kernel}, ${info.backend}`,
      `file: ${lines.length} lines, ${dt.cache.length.toLocaleString('en-US')} code points`,
      `whole file from nothing: ${wholeMs.toFixed(0)} ms (${Math.round(dt.cache.length / (wholeMs / 1000)).toLocaleString('en-US')} code points/s); first 40 lines after ${firstVisible?.ms.toFixed(0)} ms`,
      `edit at line 1,000: lines in sight after ${visibleMs.toFixed(0)} ms (${v.traced.toLocaleString('en-US')} code points re-traced), rest of the file after ${restMs.toFixed(0)} ms (${rest.traced.toLocaleString('en-US')} re-traced of ${dt.cache.length.toLocaleString('en-US')})`,
    ];
    for (const line of report) console.log(line);
    const out = arg('report');
    if (out) fs.writeFileSync(out, report.join('\n') + '\n');
    dt.dispose();
  } finally {
    client.dispose();
    if (ckpt.made) fs.rmSync(ckpt.made, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
