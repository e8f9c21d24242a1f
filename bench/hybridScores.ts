/**
 * Held-out cross-entropy of every completion component and of fitted mixtures, for one checkpoint:
 * the gate is fitted on the checkpoint's validation split, then scored on the files of a held-out
 * folder read in path order. `node out/bench/hybridScores.js CHECKPOINT HELD_OUT_FOLDER [MAX_CHARS]`
 */
import { initBackend } from '../src/engine/runtime/backend';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { readCorpus, readRecordedCorpus } from '../src/engine/data/corpus';
import { InferenceModel } from '../src/engine/inference/inference';
import { NGramModel } from '../src/engine/ngram/ngram';
import { componentLosses, fitGate, mixtureLoss, MixtureGate } from '../src/engine/completion/mixture';
import { adaptedNetworkComponent, corpusNGramComponent, localityComponent, mixtureData, ScoredComponent, staticNetworkComponent } from '../src/engine/completion/heldOutScores';
import { DynamicEvaluator } from '../src/engine/adaptation/dynamicEvaluation';
import { loadOrGatherStatistics, statisticsFileFor, DEFAULT_STATISTICS_CHARS } from '../src/engine/adaptation/gradientStatistics';

async function main(): Promise<void> {
  const [checkpoint, heldOut, maxArg] = process.argv.slice(2);
  const maxChars = Number(maxArg ?? 100000);
  await initBackend('auto');
  const ckpt = await loadCheckpoint(checkpoint);
  const vocab = ckpt.vocabulary;
  const corpus = await readRecordedCorpus(ckpt.header.corpus!.root);
  let t = Date.now();
  const ngram = NGramModel.build(vocab.encode(corpus.trainText), vocab.size, 10);
  console.log(`n-gram built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const net = new InferenceModel(ckpt.header.model, vocab, ckpt.params);
  const trainIds = vocab.encode(corpus.trainText);
  const segment = 50;
  const stored = await loadOrGatherStatistics(
    statisticsFileFor(ckpt.path, segment),
    { checkpointChecksum: ckpt.header.dataChecksum, textSource: 'corpus', textChars: trainIds.length, segment, streams: 1, maxChars: DEFAULT_STATISTICS_CHARS },
    ckpt.header.model, ckpt.params, trainIds,
  );
  const evaluator = new DynamicEvaluator({ config: ckpt.header.model, vocab, params: ckpt.params }, stored.stats);
  const comps: Record<string, ScoredComponent> = {
    'lstm-adapted': adaptedNetworkComponent(evaluator),
    lstm: staticNetworkComponent(net),
    ngram: corpusNGramComponent(ngram),
    cache: localityComponent(vocab.size),
  };
  const cap = (files: { text: string }[]) => {
    const out: Int32Array[] = [];
    let n = 0;
    for (const f of files) {
      if (n >= maxChars) break;
      const ids = vocab.encode(f.text);
      out.push(ids);
      n += ids.length;
    }
    return out;
  };
  const valDocs = cap(corpus.validationFiles);
  const held = await readCorpus(heldOut, { validationFraction: 0 });
  const heldDocs = cap(held.files);
  const mixes: Record<string, string[]> = {
    'hybrid (adapted network)': ['lstm-adapted', 'ngram', 'cache'],
    hybrid: ['lstm', 'ngram', 'cache'],
    'ngram+cache': ['ngram', 'cache'],
    'adapted+ngram': ['lstm-adapted', 'ngram'],
  };
  for (const [name, members] of Object.entries(mixes)) {
    const cs = members.map((m) => comps[m]);
    const gate = new MixtureGate(cs.map((c) => c.spec));
    t = Date.now();
    const val = mixtureData(cs, valDocs, gate);
    const fitted = fitGate(gate, val);
    const test = mixtureData(cs, heldDocs, gate);
    const alone = componentLosses(test, cs.length);
    console.log(`${name}: validation ${val.positions} chars: mixture ${fitted.toFixed(3)} (alone ${JSON.stringify(gate.fit?.components, (k, v) => (typeof v === 'number' ? +v.toFixed(3) : v))}); held out ${test.positions} chars: mixture ${mixtureLoss(gate, test).toFixed(3)}, alone ${members.map((m, i) => `${m} ${alone[i].toFixed(3)}`).join(', ')} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
