/**
 * The n-gram worker: a worker thread that builds the n-gram baseline of the active model (from the
 * corpus it was trained on, in its vocabulary) or reads it from `ngram.json` beside the checkpoint,
 * and then answers completion requests with it. Bundled to dist/ngramWorker.js.
 *
 * ngram.json is the model's own JSON (NGramModel.toJSON) plus an `lstmLab` record saying which
 * vocabulary, corpus and order it was built for; a file that does not match is rebuilt.
 */
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import { loadCheckpoint, writeFileAtomic } from '../../engine/training/checkpoint';
import { NGramCompleter } from '../../engine/completion/ngramCompleter';
import { mergeCorpora, readCorpus, recordedCorpusRoots } from '../../engine/data/corpus';
import { NGramModel } from '../../engine/ngram/ngram';
import { Vocabulary } from '../../engine/data/vocabulary';
import { HostToNGram, isHostToNGram, NGramLoadRequest, NGramToHost } from './ngramProtocol';

const port = parentPort;
if (!port) throw new Error('ngramWorker.ts must run in a worker thread.');
const post = (m: NGramToHost) => port.postMessage(m);

let completer: NGramCompleter | null = null;
let loading = false;

port.on('message', (m: unknown) => {
  if (!isHostToNGram(m)) {
    post({ type: 'log', line: `n-gram worker ignored a malformed message` });
    return;
  }
  handle(m);
});

function handle(m: HostToNGram): void {
  if (m.type === 'load') {
    if (loading || completer) return void post({ type: 'failed', message: 'This n-gram worker already has a model.' });
    loading = true;
    load(m.request).then(
      () => (loading = false),
      (e: unknown) => {
        loading = false;
        post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
      },
    );
    return;
  }
  if (!completer) return void post({ type: 'completionFailed', id: m.id, message: 'The n-gram model is not ready.' });
  const t0 = performance.now();
  try {
    const completion = completer.complete({ text: m.before, offset: m.before.length }, m.options);
    post({ type: 'completion', id: m.id, completion, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: 'completionFailed', id: m.id, message: e instanceof Error ? e.message : String(e) });
  }
}

/** What ngram.json records about how its model was built. */
interface BuildRecord {
  vocabulary: string;
  corpus: string[];
  order: number;
  trainChars: number;
  builtAt: string;
}

function fingerprint(v: Vocabulary): string {
  let h = 0x811c9dc5;
  for (const ch of v.symbols.join('')) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193);
  return `${v.size}:${(h >>> 0).toString(16)}`;
}

/** The roots of the corpus a checkpoint was trained on (a multi-root workspace joins them with ", "). */
function corpusRoots(root: string | undefined, checkpoint: string): string[] {
  if (!root) throw new Error(`${checkpoint} does not say which corpus it was trained on, so the n-gram baseline cannot be built.`);
  try {
    return recordedCorpusRoots(root);
  } catch (e) {
    throw new Error(`${(e as Error).message.replace(/\.$/, '')}: the n-gram baseline cannot be built.`);
  }
}

async function load(req: NGramLoadRequest): Promise<void> {
  const t0 = performance.now();
  const ckpt = await loadCheckpoint(req.checkpoint);
  const vocab = ckpt.vocabulary;
  const want = fingerprint(vocab);
  const corpusPaths = req.corpusPaths.length > 0 ? req.corpusPaths : corpusRoots(ckpt.header.corpus?.root, req.checkpoint);

  // The saved model, if it was built for this vocabulary, corpus and order.
  if (fs.existsSync(req.cachePath)) {
    post({ type: 'progress', phase: 'loading', fraction: 0 });
    try {
      const json = JSON.parse(await fs.promises.readFile(req.cachePath, 'utf8'));
      const rec = json?.lstmLab as BuildRecord | undefined;
      if (rec && rec.vocabulary === want && rec.order === req.order && JSON.stringify(rec.corpus) === JSON.stringify(corpusPaths)) {
        const model = NGramModel.fromJSON(json);
        completer = new NGramCompleter(model, vocab);
        post({ type: 'ready', info: { order: model.order, distinctNgrams: model.size, trainChars: rec.trainChars, built: false, seconds: (performance.now() - t0) / 1000 } });
        return;
      }
      post({ type: 'log', line: `${req.cachePath} was built for another vocabulary, corpus or order: rebuilding` });
    } catch (e) {
      post({ type: 'log', line: `${req.cachePath} could not be read (${e instanceof Error ? e.message : String(e)}): rebuilding` });
    }
  }

  post({ type: 'progress', phase: 'reading', fraction: 0 });
  const corpora = [];
  for (const p of corpusPaths) corpora.push(await readCorpus(p, { ...req.corpusOptions }));
  const corpus = mergeCorpora(corpora);
  post({ type: 'log', line: `n-gram: ${corpus.trainFiles.length} training files, ${corpus.trainText.length.toLocaleString('en-US')} characters, order ${req.order}` });
  const ids = vocab.encode(corpus.trainText);
  const model = NGramModel.build(ids, vocab.size, req.order, (fraction) => post({ type: 'progress', phase: 'building', fraction }));
  completer = new NGramCompleter(model, vocab);
  const seconds = (performance.now() - t0) / 1000;
  post({ type: 'ready', info: { order: model.order, distinctNgrams: model.size, trainChars: corpus.trainText.length, built: true, seconds } });

  // Saved after `ready`: completions are served while the file is written.
  const record: BuildRecord = { vocabulary: want, corpus: corpusPaths, order: req.order, trainChars: corpus.trainText.length, builtAt: new Date().toISOString() };
  try {
    await writeFileAtomic(req.cachePath, JSON.stringify({ ...model.toJSON(), lstmLab: record }));
    post({ type: 'log', line: `n-gram saved to ${req.cachePath}` });
  } catch (e) {
    post({ type: 'log', line: `n-gram could not be saved to ${req.cachePath}: ${e instanceof Error ? e.message : String(e)}` });
  }
}
