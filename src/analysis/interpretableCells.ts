/**
 * Interpretable-cell discovery: trace a set of files through a model, label every character with
 * concepts from a parser (conceptLabels.ts), and rank every cell of every layer by how well its
 * activation predicts each concept (cellRanking.ts). What `lstm-lab cells` prints and what the
 * extension's "Find Interpretable Cells" shows.
 *
 * Each file is traced from a zero state, as the overlay traces the file being edited; labels and
 * activations are concatenated across files. Long inputs are cut at `maxChars` code points.
 */
import * as path from 'path';
import { advanceCodePoints, countCodePoints } from '../engine/data/codePoints';
import { InferenceModel } from '../engine/inference/inference';
import { traceText } from '../engine/inference/trace';
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

export async function discoverCells(model: InferenceModel, sources: SourceText[], opts: DiscoveryOptions = {}): Promise<Discovery> {
  const { kind, layers: L, hidden: H } = model.config;
  const quantities = opts.quantities ?? [kind === 'lstm' ? 'tanh(c)' : 'h'];
  const maxChars = opts.maxChars ?? 200_000;
  const parts: { acts: Map<string, Float32Array>; concepts: Concept[]; n: number }[] = [];
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
    const trace = traceText(model, text, { topK: 1 });
    const acts = new Map<string, Float32Array>();
    for (const lt of trace.layers) {
      for (const q of quantities) {
        let v: Float32Array | null = null;
        if (q === 'tanh(c)' && lt.c) v = lt.c.map(Math.tanh);
        else if (q === 'c') v = lt.c;
        else if (q === 'h') v = lt.h;
        else v = lt.gates[q] ?? null;
        if (v) acts.set(`${lt.layer}/${q}`, v);
      }
    }
    parts.push({ acts, concepts: labels.concepts, n });
    total += n;
  }
  if (parts.length === 0) throw new Error('There is no text to analyse.');
  // Concatenate activations and labels across files.
  const activations: ActivationSet[] = [];
  for (let layer = 1; layer <= L; layer++) {
    for (const q of quantities) {
      const key = `${layer}/${q}`;
      if (!parts[0].acts.has(key)) continue;
      const values = new Float32Array(total * H);
      let o = 0;
      for (const p of parts) {
        values.set(p.acts.get(key)!, o * H);
        o += p.n;
      }
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
  return { rankings, files: parts.length, chars: total, labellers };
}
