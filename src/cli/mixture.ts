/**
 * `lstm-lab mixture CHECKPOINT`: fit the hybrid completer's gate (the static network, the corpus
 * n-gram and the locality caches, mixed per character; src/engine/completion/mixture.ts) on the
 * validation split of the checkpoint's corpus, and keep it beside the checkpoint as mixture.json
 * (src/engine/completion/checkpointMixture.ts). Training does this at its end; this command does it
 * again, for a run trained before, or with another corpus or n-gram order.
 */
import { OptionSpec } from './args';
import type { Command } from './commands';
import { trainingCorpus } from './completeEval';
import { BackendPreference, initBackend } from '../engine/runtime/backend';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { fitCheckpointMixture, MIXTURE_FIT_CHARS } from '../engine/completion/checkpointMixture';
import { NGRAM_DEFAULT_ORDER, NGRAM_MAX_ORDER } from '../engine/ngram/ngram';

const OPTIONS: OptionSpec[] = [
  { name: 'corpus', type: 'string', help: 'the training corpus (default: the one in the checkpoint header); its validation split is fitted on' },
  { name: 'max-chars', type: 'int', help: 'validation characters fitted on, at most (the files in order)', default: MIXTURE_FIT_CHARS, min: 1 },
  { name: 'ngram-order', type: 'int', help: 'order of the corpus n-gram mixed in', default: NGRAM_DEFAULT_ORDER, min: 1, max: NGRAM_MAX_ORDER },
  { name: 'backend', type: 'string', help: 'TF.js backend', default: 'auto', choices: ['auto', 'native', 'node', 'wasm', 'cpu'] },
  { name: 'json', type: 'bool', help: 'print one JSON object' },
];

export const mixtureCommand: Command = {
  name: 'mixture',
  summary: "fit the hybrid completer's gates (over the static and over the adapted network) on the validation split and write mixture.json beside the checkpoint",
  usage: 'lstm-lab mixture CHECKPOINT [--corpus PATH] [--max-chars N] [--json]',
  positionals: [{ name: 'checkpoint', required: true }],
  options: OPTIONS,
  async run(pos, o) {
    await initBackend(o.backend as BackendPreference);
    const ckpt = await loadCheckpoint(pos.checkpoint!);
    const corpus = await trainingCorpus(ckpt.header, o.corpus as string | undefined, ckpt.path);
    const r = await fitCheckpointMixture(ckpt, corpus, { ngramOrder: o['ngram-order'] as number, maxChars: o['max-chars'] as number });
    const fit = r.gate.fit!;
    if (o.json === true) {
      process.stdout.write(JSON.stringify({ event: 'mixture', file: r.file, components: r.gate.components.map((c) => c.name), fit, fittedFor: r.fittedFor, ngramSeconds: r.ngramSeconds, adaptedFit: r.adaptedGate?.fit ?? null }) + '\n');
      return 0;
    }
    const alone = Object.entries(fit.components).map(([n, v]) => `${n} ${v.toFixed(3)}`).join(', ');
    process.stdout.write(
      `fitted the gate of ${r.gate.components.map((c) => c.name).join(' + ')} on ${fit.positions.toLocaleString('en-US')} validation characters of ${corpus.root} in ${r.fittedFor.seconds.toFixed(1)} s (the n-gram's build ${r.ngramSeconds.toFixed(1)} s):\n` +
        `  mixture ${fit.natsPerChar.toFixed(3)} nats/char; alone ${alone}\n` +
        (r.adaptedGate?.fit ? `  over the network adapted as it reads: mixture ${r.adaptedGate.fit.natsPerChar.toFixed(3)} nats/char\n` : '') +
        `wrote ${r.file}\n`,
    );
    return 0;
  },
};
