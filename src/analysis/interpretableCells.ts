/**
 * Interpretable-cell discovery: trace a set of files through a model, label every character with
 * concepts from a parser (conceptLabels.ts), and rank every cell of every layer by how well its
 * activation predicts each concept (cellRanking.ts). What `lstm-lab cells` prints and what the
 * extension's "Find Interpretable Cells" shows.
 *
 * Each file is traced from a zero state, as the overlay traces the file being edited; labels and
 * activations are concatenated across files. Long inputs are cut at `maxChars` code points.
 * Discovery is two halves: labelling the sources (labelSources, no model needed) and ranking the
 * cells of a model against those labels (rankLabelled), so a sample labelled once can be ranked
 * against many models.
 */
import * as path from 'path';
import { advanceCodePoints, countCodePoints } from '../engine/data/codePoints';
import { InferenceModel } from '../engine/inference/inference';
import { GATE_ORDER, GATES } from '../engine/nn/kernels';
import { ActivationSet, CellRanking, rankAllConcepts } from './cellRanking';
import { Concept, ExtraConcept, labelConcepts } from './conceptLabels';

export interface SourceText {
  path: string;
  text: string;
  languageId?: string;
}

export interface DiscoveryOptions {
  /** Best cells kept per concept. */
  top?: number;
  /** Stop after this many code points in total. */
  maxChars?: number;
  /** Activation quantities ranked (default: tanh(c) for LSTM, h otherwise). */
  quantities?: string[];
  extra?: ExtraConcept[];
  grammarWasmPath?: string;
  treeSitterWasmPath?: string;
}

export interface Discovery {
  rankings: CellRanking[];
  files: number;
  chars: number;
  labellers: Record<string, number>;
}

const LANGUAGE_BY_EXTENSION: Record<string, string> = {
  '.c': 'c', '.h': 'c', '.cc': 'cpp', '.cpp': 'cpp', '.hpp': 'cpp', '.py': 'python', '.js': 'javascript',
  '.ts': 'typescript', '.go': 'go', '.rs': 'rust', '.java': 'java', '.sh': 'shellscript',
};

export function languageOf(file: string): string {
  return LANGUAGE_BY_EXTENSION[path.extname(file).toLowerCase()] ?? 'plaintext';
}

/** Sources labelled with concepts, ready to be ranked against any model's activations (labelSources). */
export interface LabelledSources {
  /** Per source that had text: its first code points, how many, and its concept tracks. */
  parts: { text: string; n: number; concepts: Concept[] }[];
  /** Code points in all. */
  chars: number;
  labellers: Record<string, number>;
}

/**
 * The first half of discovery, which needs no model: cut the sources at `maxChars` code points in
 * all and label each one. What is labelled once can be ranked against many models (cellsOverTime.ts
 * ranks the same sample at every evaluation of a run).
 */
export async function labelSources(sources: SourceText[], opts: Pick<DiscoveryOptions, 'maxChars' | 'extra' | 'grammarWasmPath' | 'treeSitterWasmPath'> = {}): Promise<LabelledSources> {
  const maxChars = opts.maxChars ?? 200_000;
  const parts: LabelledSources['parts'] = [];
  const labellers: Record<string, number> = {};
  let total = 0;
  for (const src of sources) {
    if (total >= maxChars) break;
    const text = src.text.slice(0, advanceCodePoints(src.text, 0, maxChars - total)); // the first code points that fit
    const n = countCodePoints(text);
    if (n === 0) continue;
    const labels = await labelConcepts(text, src.languageId ?? languageOf(src.path), {
      extra: opts.extra, grammarWasmPath: opts.grammarWasmPath, treeSitterWasmPath: opts.treeSitterWasmPath,
    });
    labellers[labels.labeller] = (labellers[labels.labeller] ?? 0) + 1;
    parts.push({ text, n, concepts: labels.concepts });
    total += n;
  }
  return { parts, chars: total, labellers };
}

/**
 * The second half: read each labelled source through the model from a zero state and rank every
 * cell against every concept the sources share. Only the quantities ranked are kept (no next-symbol
 * predictions, as a full trace would compute).
 */
export function rankLabelled(model: InferenceModel, labelled: LabelledSources, opts: Pick<DiscoveryOptions, 'top' | 'quantities'> = {}): Discovery {
  const { kind, layers: L, hidden: H } = model.config;
  const quantities = opts.quantities ?? [kind === 'lstm' ? 'tanh(c)' : 'h'];
  const { parts, chars: total } = labelled;
  if (parts.length === 0) throw new Error('There is no text to analyse.');
  const acts = parts.map((p) => recordedQuantities(model, p.text, quantities));
  // Concatenate activations and labels across files.
  const activations: ActivationSet[] = [];
  for (let layer = 1; layer <= L; layer++) {
    for (const q of quantities) {
      const key = `${layer}/${q}`;
      if (!acts[0].has(key)) continue;
      const values = new Float32Array(total * H);
      let o = 0;
      parts.forEach((p, i) => {
        values.set(acts[i].get(key)!, o * H);
        o += p.n;
      });
      activations.push({ layer, quantity: q, units: H, values });
    }
  }
  const conceptIds = parts[0].concepts.map((c) => c.id).filter((id) => parts.every((p) => p.concepts.some((c) => c.id === id)));
  const concepts: Concept[] = conceptIds.map((id) => {
    const first = parts[0].concepts.find((c) => c.id === id)!;
    const values = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      values.set(p.concepts.find((c) => c.id === id)!.values, o);
      o += p.n;
    }
    return { ...first, values };
  });
  const rankings = rankAllConcepts(activations, concepts, { top: opts.top ?? 5 });
  return { rankings, files: parts.length, chars: total, labellers: labelled.labellers };
}

export async function discoverCells(model: InferenceModel, sources: SourceText[], opts: DiscoveryOptions = {}): Promise<Discovery> {
  return rankLabelled(model, await labelSources(sources, opts), opts);
}

/**
 * The quantities asked for, per layer, after each code point of `text` read from a zero state:
 * keys `${layer}/${quantity}`, values [N, H]. A quantity the model does not have is left out.
 */
function recordedQuantities(model: InferenceModel, text: string, quantities: readonly string[]): Map<string, Float32Array> {
  const { kind, hidden: H } = model.config;
  const ids = model.vocab.encode(text);
  const N = ids.length;
  const run = model.run(ids, model.zeroState(), { record: true });
  const gates: readonly string[] = GATE_ORDER[kind];
  const G = GATES[kind];
  const out = new Map<string, Float32Array>();
  run.layers!.forEach((r, idx) => {
    for (const q of quantities) {
      let v: Float32Array | null = null;
      if (q === 'tanh(c)' && r.cs) {
        v = new Float32Array(r.cs.length);
        for (let i = 0; i < v.length; i++) v[i] = Math.tanh(r.cs[i]);
      } else if (q === 'c') v = r.cs;
      else if (q === 'h') v = r.hs;
      else if (gates.includes(q)) {
        const gi = gates.indexOf(q);
        v = new Float32Array(N * H);
        for (let t = 0; t < N; t++) v.set(r.gates.subarray(t * G * H + gi * H, t * G * H + (gi + 1) * H), t * H);
      }
      if (v) out.set(`${idx + 1}/${q}`, v);
    }
  });
  return out;
}
