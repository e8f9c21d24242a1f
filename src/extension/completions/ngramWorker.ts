/**
 * The n-gram worker: a worker thread that builds the n-gram baseline of the active model (from the
 * corpus it was trained on, in its vocabulary) or reads it from `ngram.json` beside the checkpoint,
 * and then answers completion requests with it. Bundled to dist/ngramWorker.js.
 *
 * ngram.json is the model's own JSON (NGramModel.toJSON) plus an `lstmLab` record saying which
 * vocabulary, corpus and order it was built for; a file that does not match is rebuilt.
 *
 * With `hybrid` in the load request it serves the hybrid instead (adaptiveHybrid.ts): it also loads
 * the network and the gate of mixture.json, keeps the caches of the documents the host tells it
 * about, and, once the gradient statistics are there (read beside the checkpoint, or gathered from
 * the training text and kept there), adapts the network to the documents being completed whenever
 * no request has come for IDLE_MS, one unit of work per turn of the event loop.
 */
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import { loadCheckpoint, writeFileAtomic } from '../../engine/training/checkpoint';
import { NGramCompleter } from '../../engine/completion/ngramCompleter';
import { mergeCorpora, readCorpus, recordedCorpusRoots } from '../../engine/data/corpus';
import { NGramModel } from '../../engine/ngram/ngram';
import { Vocabulary } from '../../engine/data/vocabulary';
import { HostToNGram, isHostToNGram, NGramLoadRequest, NGramToHost } from './ngramProtocol';
import * as path from 'path';
import { AdaptiveHybrid } from './adaptiveHybrid';
import { initBackend, setWasmDirectory } from '../../engine/runtime/backend';
import { LoadedCheckpoint } from '../../engine/training/checkpoint';
import { readTrainingCorpus } from '../../engine/data/corpusRecord';
import { DEFAULT_STATISTICS_CHARS, loadOrGatherStatistics, statisticsFileFor } from '../../engine/adaptation/gradientStatistics';
import { DEFAULT_DYNAMIC_EVALUATION } from '../../engine/adaptation/dynamicEvaluation';
import { LOCALITY_EXTRAS } from '../../engine/completion/heldOutScores';

const port = parentPort;
if (!port) throw new Error('ngramWorker.ts must run in a worker thread.');
const post = (m: NGramToHost) => port.postMessage(m);

let completer: NGramCompleter | null = null;
let hybrid: AdaptiveHybrid | null = null;
let loading = false;
/** Quiet time after a request before adaptation works (ms). */
const IDLE_MS = 300;
let lastRequest = 0;
let idleTimer: NodeJS.Timeout | null = null;

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
  if (m.type === 'remember') return void hybrid?.remember(m.text);
  if (m.type === 'forget') return void hybrid?.forget(m.key);
  if (!completer) return void post({ type: 'completionFailed', id: m.id, message: 'The n-gram model is not ready.' });
  const t0 = performance.now();
  try {
    const completion = hybrid ? hybrid.complete(m.key, m.before, m.options) : completer.complete({ text: m.before, offset: m.before.length }, m.options);
    post({ type: 'completion', id: m.id, completion, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: 'completionFailed', id: m.id, message: e instanceof Error ? e.message : String(e) });
  }
  lastRequest = performance.now();
  scheduleAdaptation();
}

/** Adapt when no request has come for IDLE_MS: one unit of work per turn, so a request waits for one unit at most. */
function scheduleAdaptation(): void {
  if (idleTimer || !hybrid?.busy) return;
  idleTimer = setTimeout(() => {
    idleTimer = null;
    const quiet = performance.now() - lastRequest;
    if (quiet < IDLE_MS) return void (idleTimer = setTimeout(() => ((idleTimer = null), scheduleAdaptation()), IDLE_MS - quiet));
    const turn = () => {
      if (!hybrid || performance.now() - lastRequest < IDLE_MS) return scheduleAdaptation();
      if (hybrid.adaptSome()) return void setImmediate(turn);
      post({ type: 'adaptation', info: hybrid.status() });
    };
    turn();
  }, IDLE_MS);
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
        const served = req.hybrid ? await loadHybrid(req, ckpt, model) : undefined;
        post({ type: 'ready', info: { order: model.order, distinctNgrams: model.size, trainChars: rec.trainChars, built: false, seconds: (performance.now() - t0) / 1000, hybrid: served } });
        if (req.hybrid?.adapt) void prepareAdaptation(ckpt);
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
  const served = req.hybrid ? await loadHybrid(req, ckpt, model) : undefined;
  const seconds = (performance.now() - t0) / 1000;
  post({ type: 'ready', info: { order: model.order, distinctNgrams: model.size, trainChars: corpus.trainText.length, built: true, seconds, hybrid: served } });
  if (req.hybrid?.adapt) void prepareAdaptation(ckpt);

  // Saved after `ready`: completions are served while the file is written.
  const record: BuildRecord = { vocabulary: want, corpus: corpusPaths, order: req.order, trainChars: corpus.trainText.length, builtAt: new Date().toISOString() };
  try {
    await writeFileAtomic(req.cachePath, JSON.stringify({ ...model.toJSON(), lstmLab: record }));
    post({ type: 'log', line: `n-gram saved to ${req.cachePath}` });
  } catch (e) {
    post({ type: 'log', line: `n-gram could not be saved to ${req.cachePath}: ${e instanceof Error ? e.message : String(e)}` });
  }
}

/** The hybrid over this n-gram: the gate of mixture.json (and the network when the gate mixes it in). */
async function loadHybrid(req: NGramLoadRequest, ckpt: LoadedCheckpoint, model: NGramModel): Promise<AdaptiveHybrid['info']> {
  const file = req.hybrid!.mixturePath;
  let mixture: unknown | null = null;
  if (fs.existsSync(file)) {
    const text = await fs.promises.readFile(file, 'utf8');
    try {
      mixture = JSON.parse(text);
    } catch (e) {
      mixture = { unreadable: (e as Error).message };
    }
  }
  const mixes = (mixture as { components?: { extras?: number }[] } | null)?.components?.map((c) => c.extras).join(',') === `0,0,${LOCALITY_EXTRAS}`;
  let network: { config: LoadedCheckpoint['header']['model']; vocab: Vocabulary; params: Map<string, Float32Array> } | null = null;
  if (mixes) {
    try {
      setWasmDirectory(path.join(__dirname, 'wasm'));
      await initBackend('auto');
      network = { config: ckpt.header.model, vocab: ckpt.vocabulary, params: ckpt.params };
    } catch (e) {
      post({ type: 'log', line: `hybrid: the network cannot run in the worker (${(e as Error).message})` });
    }
  }
  hybrid = new AdaptiveHybrid({ vocab: ckpt.vocabulary, ngram: model, network, mixture });
  post({ type: 'log', line: `hybrid: ${hybrid.info.completer}${hybrid.info.note ? ` (${hybrid.info.note})` : ''}` });
  return hybrid.info;
}

/** The gradient statistics of the network (beside the checkpoint, else gathered from its training text), then adaptation on. */
async function prepareAdaptation(ckpt: LoadedCheckpoint): Promise<void> {
  const h = hybrid;
  if (!h?.mixesNetwork) return void post({ type: 'adaptation', info: { state: 'off', note: 'the network is not in the mix', documents: 0, chars: 0, updates: 0 } });
  const root = ckpt.header.corpus?.root;
  const failed = (note: string) => post({ type: 'adaptation', info: { state: 'failed', note, documents: 0, chars: 0, updates: 0 } });
  if (!root) return failed(`${ckpt.path} does not say which corpus it was trained on, so the gradient statistics cannot be gathered`);
  try {
    post({ type: 'adaptation', info: { state: 'preparing', note: 'reading the training text', documents: 0, chars: 0, updates: 0 } });
    const trainIds = ckpt.vocabulary.encode((await readTrainingCorpus(ckpt.path, root)).corpus.trainText);
    const segment = DEFAULT_DYNAMIC_EVALUATION.segment;
    const key = { checkpointChecksum: ckpt.header.dataChecksum, textSource: root, textChars: trainIds.length, segment, streams: 1, maxChars: DEFAULT_STATISTICS_CHARS };
    const file = statisticsFileFor(ckpt.path, segment);
    post({ type: 'adaptation', info: { state: 'preparing', note: `gradient statistics (${path.basename(file)})`, documents: 0, chars: 0, updates: 0 } });
    const stored = await loadOrGatherStatistics(file, key, ckpt.header.model, ckpt.params, trainIds);
    if (stored.writeError) post({ type: 'log', line: `adaptation: the gradient statistics could not be kept in ${file}: ${stored.writeError}` });
    if (hybrid !== h) return;
    h.startAdaptation(stored.stats);
    post({ type: 'log', line: `adaptation: on (gradient statistics ${stored.reused ? 'read from' : 'gathered into'} ${file})` });
    post({ type: 'adaptation', info: h.status() });
    scheduleAdaptation();
  } catch (e) {
    failed((e as Error).message);
  }
}
