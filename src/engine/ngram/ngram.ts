/**
 * A character n-gram language model with interpolated modified Kneser-Ney smoothing: the
 * baseline that Karpathy, Johnson & Fei-Fei (2015, "Visualizing and Understanding Recurrent
 * Networks") compare their LSTMs against.
 *
 * Symbols are ids of the project's Vocabulary (integers in [0, V)); the model never sees text.
 *
 * Smoothing (Chen & Goodman 1998, "modified KN", interpolated). For a context h of k−1 symbols
 * (h' = h without its oldest symbol) and a next symbol w:
 *
 *   P_k(w | h) = max(c_k(hw) − D_k(c_k(hw)), 0) / Σ_v c_k(hv)  +  γ_k(h) · P_{k−1}(w | h')
 *   γ_k(h)     = (D_k,1·N1(h•) + D_k,2·N2(h•) + D_k,3+·N3+(h•)) / Σ_v c_k(hv)
 *   P_0(w)     = 1 / V                                   (so every symbol has P > 0)
 *
 * where N_i(h•) is the number of symbols v with c_k(hv) = i (≥ 3 for N3+), and
 *   c_N(hw)  = the raw count of the n-gram hw                                   (top order N)
 *   c_k(hw)  = N1+(•hw), the number of distinct symbols x seen before hw         (orders k < N)
 *             (the text is treated as preceded by one boundary symbol, so an n-gram at the very
 *              start of the text has that one left context too; this is what KenLM does with <s>)
 * A level whose context was never followed by anything is skipped (P_k = P_{k−1}).
 *
 * Discounts per order k from the count-of-counts n_i (number of k-grams whose c_k is i):
 *   Y = n1 / (n1 + 2·n2),  D1 = 1 − 2Y·n2/n1,  D2 = 2 − 3Y·n3/n2,  D3+ = 3 − 4Y·n4/n3
 * A discount that is undefined or outside (0, i) (only in tiny or degenerate texts, e.g. D2 = 2
 * when n3 = 0) falls back to KenLM's defaults D1 = 0.5, D2 = 1, D3+ = 1.5. (KenLM accepts D_i = i;
 * we do not, as it leaves a seen n-gram no probability of its own.) Every D_i > 0, so γ > 0 and no
 * symbol is ever given probability 0.
 *
 * Storage: the n-grams of orders 1..N are counted in a prefix trie and frozen breadth-first into
 * three typed arrays, 12 bytes per distinct n-gram (countingTrie.ts); the JSON form next to a
 * checkpoint packs them as varint streams (packedTrie.ts).
 */

import { countNGrams, type FrozenTrie } from './countingTrie';
import { packTrie, unpackTrie, type PackedTrie } from './packedTrie';

export const NGRAM_MAX_ORDER = 20;
export const NGRAM_DEFAULT_ORDER = 10;
/** Largest vocabulary accepted (probabilities() allocates one float per symbol). */
export const NGRAM_MAX_VOCAB = 1 << 24;

const FORMAT = 'lstm-lab/ngram-kn';
const FORMAT_VERSION = 1;
/** KenLM's fallback discounts, used when a count-of-counts estimate is undefined or out of range. */
const FALLBACK_DISCOUNTS = [0, 0.5, 1.0, 1.5];
/** Contexts at depth < STATS_DEPTH (the root and 1-symbol contexts) keep precomputed totals. */
const STATS_DEPTH = 2;

export interface NGramEvaluation {
  /** Mean −ln P(ids[i] | ids[<i]) over the text. */
  natsPerChar: number;
  bitsPerChar: number;
  perplexity: number;
  /** Number of symbols predicted (= ids.length). */
  chars: number;
}

/** The JSON form written next to a checkpoint: a header and the packed trie (see toJSON). */
export interface NGramJSON extends PackedTrie {
  format: typeof FORMAT;
  version: number;
  order: number;
  vocabSize: number;
  /** Number of trie nodes, root included. */
  nodes: number;
}

export type NGramProgress = (fraction: number) => void;

export class NGramModel {
  /** N: the longest n-gram, i.e. predictions condition on at most N − 1 symbols. */
  readonly order: number;
  readonly vocabSize: number;

  /** Node i's symbol (root: −1). */
  private readonly sym: Int32Array;
  /** Node i's level count c_k (root: 0). */
  private readonly count: Int32Array;
  /** Children of node i are first[i] .. first[i+1]−1; length nodes + 1. */
  private readonly first: Int32Array;
  /** D[k*4 + i] = D_k,i for order k in 1..N and i in 1..3. */
  private readonly discounts: Float64Array;
  /** Σ_v c(hv) and D1·N1 + D2·N2 + D3·N3+ for contexts i < statsEnd (depth < STATS_DEPTH). */
  private readonly statsEnd: number;
  private readonly statTotal: Float64Array;
  private readonly statGammaNum: Float64Array;
  /** Scratch: context node per level, reused across queries. */
  private readonly ctxNodes: Int32Array;

  private constructor(order: number, vocabSize: number, { sym, count, first }: FrozenTrie) {
    this.order = order;
    this.vocabSize = vocabSize;
    this.sym = sym;
    this.count = count;
    this.first = first;
    this.ctxNodes = new Int32Array(order);
    const nodes = sym.length;

    // Level boundaries in BFS order: depth d occupies [levelStart[d], levelStart[d+1]).
    const levelStart = new Int32Array(order + 2);
    levelStart[0] = 0;
    levelStart[1] = 1;
    // levelStart[d+1] = first[levelStart[d]]: in BFS order the first child of the first depth-d
    // node is the first depth-(d+1) node (or the end when depth d is empty).
    for (let d = 1; d <= order; d++) {
      levelStart[d + 1] = levelStart[d] < nodes ? first[levelStart[d]] : nodes;
    }

    // Discounts from count-of-counts per order.
    this.discounts = new Float64Array((order + 1) * 4);
    for (let k = 1; k <= order; k++) {
      const n = [0, 0, 0, 0, 0];
      for (let i = levelStart[k]; i < levelStart[k + 1]; i++) {
        const c = count[i];
        if (c <= 4) n[c]++;
      }
      const d = estimateDiscounts(n[1], n[2], n[3], n[4]);
      for (let i = 1; i <= 3; i++) this.discounts[k * 4 + i] = d[i];
    }

    // Precomputed context statistics for the shallow (high fan-out) contexts.
    this.statsEnd = levelStart[Math.min(STATS_DEPTH, order)];
    this.statTotal = new Float64Array(this.statsEnd);
    this.statGammaNum = new Float64Array(this.statsEnd);
    for (let h = 0; h < this.statsEnd; h++) {
      const k = depthOfContextAt(levelStart, h) + 1;
      let total = 0;
      let gammaNum = 0;
      for (let c = first[h]; c < first[h + 1]; c++) {
        const n = count[c];
        total += n;
        gammaNum += this.discounts[k * 4 + (n >= 3 ? 3 : n)];
      }
      this.statTotal[h] = total;
      this.statGammaNum[h] = gammaNum;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Building

  /**
   * Count all n-grams of orders 1..order in `ids` and freeze them into a model.
   * `onProgress` receives a fraction in [0, 1] now and then (the build is synchronous).
   */
  static build(ids: Int32Array, vocabSize: number, order = NGRAM_DEFAULT_ORDER, onProgress?: NGramProgress): NGramModel {
    checkOrder(order);
    checkVocabSize(vocabSize);
    if (!(ids instanceof Int32Array)) throw new TypeError('NGramModel.build: ids must be an Int32Array of vocabulary ids');
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (s < 0 || s >= vocabSize) {
        throw new RangeError(`NGramModel.build: ids[${i}] = ${s} is outside the vocabulary [0, ${vocabSize})`);
      }
    }
    const model = new NGramModel(order, vocabSize, countNGrams(ids, order, onProgress));
    if (onProgress !== undefined) onProgress(1);
    return model;
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /** Number of distinct n-grams stored (orders 1..N). */
  get size(): number {
    return this.sym.length - 1;
  }

  /** Bytes held by the frozen model's arrays. */
  get byteLength(): number {
    return this.sym.byteLength + this.count.byteLength + this.first.byteLength + this.statTotal.byteLength * 2;
  }

  /** Modified KN discounts [D1, D2, D3+] of order k (1..N). */
  discountsOf(k: number): [number, number, number] {
    if (!Number.isInteger(k) || k < 1 || k > this.order) throw new RangeError(`discountsOf: order ${k} is outside 1..${this.order}`);
    const d = this.discounts;
    return [d[k * 4 + 1], d[k * 4 + 2], d[k * 4 + 3]];
  }

  /** P(next | context) for every symbol. `context` holds ids, most recent last; sums to 1. */
  probabilities(context: ArrayLike<number>): Float32Array {
    const p = this.probabilities64(context);
    return Float32Array.from(p);
  }

  /** ln P(next | context). */
  logProb(context: ArrayLike<number>, next: number): number {
    if (!Number.isInteger(next) || next < 0 || next >= this.vocabSize) {
      throw new RangeError(`logProb: symbol ${next} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return Math.log(this.prob(context, next));
  }

  /** Cross-entropy of predicting ids[i] from ids[<i] (the model restarts with no context at i = 0). */
  evaluate(ids: Int32Array): NGramEvaluation {
    if (!(ids instanceof Int32Array)) throw new TypeError('evaluate: ids must be an Int32Array of vocabulary ids');
    if (ids.length === 0) throw new RangeError('evaluate: needs at least one symbol');
    let nats = 0;
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (s < 0 || s >= this.vocabSize) throw new RangeError(`evaluate: ids[${i}] = ${s} is outside the vocabulary [0, ${this.vocabSize})`);
      nats -= Math.log(this.prob(ids.subarray(Math.max(0, i - this.order + 1), i), s));
    }
    const natsPerChar = nats / ids.length;
    return { natsPerChar, bitsPerChar: natsPerChar / Math.LN2, perplexity: Math.exp(natsPerChar), chars: ids.length };
  }

  /**
   * Context nodes per level: out[k−1] = node of the last k−1 symbols of `context`, k = 1..K.
   * Returns K, the highest order whose context was seen and has continuations.
   */
  private contextLevels(context: ArrayLike<number>): number {
    const out = this.ctxNodes;
    const first = this.first;
    const len = context.length;
    const L = Math.min(len, this.order - 1);
    out[0] = 0;
    if (first[0] === first[1]) return 0; // empty model: uniform
    let K = 1;
    for (let k = 2; k <= L + 1; k++) {
      let node = 0;
      for (let t = len - k + 1; t < len; t++) {
        node = this.childOf(node, context[t]);
        if (node < 0) return K;
      }
      if (first[node] === first[node + 1]) return K;
      out[k - 1] = node;
      K = k;
    }
    return K;
  }

  /** Child of `node` with symbol s, or −1. */
  private childOf(node: number, s: number): number {
    const sym = this.sym;
    let lo = this.first[node];
    let hi = this.first[node + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = sym[mid];
      if (v < s) lo = mid + 1;
      else if (v > s) hi = mid - 1;
      else return mid;
    }
    return -1;
  }

  private prob(context: ArrayLike<number>, w: number): number {
    const K = this.contextLevels(context);
    const D = this.discounts;
    let p = 1 / this.vocabSize;
    for (let k = 1; k <= K; k++) {
      const h = this.ctxNodes[k - 1];
      let total: number;
      let gammaNum: number;
      let c = 0;
      if (h < this.statsEnd) {
        total = this.statTotal[h];
        gammaNum = this.statGammaNum[h];
        const child = this.childOf(h, w);
        if (child >= 0) c = this.count[child];
      } else {
        total = 0;
        gammaNum = 0;
        for (let x = this.first[h]; x < this.first[h + 1]; x++) {
          const n = this.count[x];
          total += n;
          gammaNum += D[k * 4 + (n >= 3 ? 3 : n)];
          if (this.sym[x] === w) c = n;
        }
      }
      const alpha = c > 0 ? Math.max(c - D[k * 4 + (c >= 3 ? 3 : c)], 0) / total : 0;
      p = alpha + (gammaNum / total) * p;
    }
    return p;
  }

  private probabilities64(context: ArrayLike<number>): Float64Array {
    const V = this.vocabSize;
    const K = this.contextLevels(context);
    const D = this.discounts;
    const p = new Float64Array(V).fill(1 / V);
    for (let k = 1; k <= K; k++) {
      const h = this.ctxNodes[k - 1];
      const a = this.first[h];
      const b = this.first[h + 1];
      let total = 0;
      let gammaNum = 0;
      for (let x = a; x < b; x++) {
        const n = this.count[x];
        total += n;
        gammaNum += D[k * 4 + (n >= 3 ? 3 : n)];
      }
      const gamma = gammaNum / total;
      for (let w = 0; w < V; w++) p[w] *= gamma;
      for (let x = a; x < b; x++) {
        const n = this.count[x];
        p[this.sym[x]] += Math.max(n - D[k * 4 + (n >= 3 ? 3 : n)], 0) / total;
      }
    }
    return p;
  }

  // ---------------------------------------------------------------------------------------------
  // Serialisation

  /**
   * Compact JSON: the header and three base64 streams of unsigned LEB128 varints (child counts,
   * sibling-delta symbols, counts; see packedTrie.ts), typically 3–4 bytes per stored n-gram.
   * Discounts and statistics are recomputed on load, so a round trip gives bit-identical
   * probabilities.
   */
  toJSON(): NGramJSON {
    return {
      format: FORMAT,
      version: FORMAT_VERSION,
      order: this.order,
      vocabSize: this.vocabSize,
      nodes: this.sym.length,
      ...packTrie({ sym: this.sym, count: this.count, first: this.first }),
    };
  }

  /** Load what toJSON wrote (the object, or its JSON text); refuses anything malformed. */
  static fromJSON(json: unknown): NGramModel {
    let obj: unknown = json;
    if (typeof json === 'string') {
      try {
        obj = JSON.parse(json);
      } catch (e) {
        throw new Error(`NGramModel.fromJSON: not valid JSON (${(e as Error).message})`);
      }
    }
    const bad = (why: string): never => {
      throw new Error(`NGramModel.fromJSON: ${why}`);
    };
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) bad('expected an object');
    const o = obj as Record<string, unknown>;
    if (o.format !== FORMAT) bad(`format is ${JSON.stringify(o.format)}, expected "${FORMAT}"`);
    if (o.version !== FORMAT_VERSION) bad(`unsupported version ${JSON.stringify(o.version)} (this build reads version ${FORMAT_VERSION})`);
    const order = o.order;
    if (typeof order !== 'number' || !Number.isInteger(order) || order < 1 || order > NGRAM_MAX_ORDER) {
      bad(`order must be an integer in 1..${NGRAM_MAX_ORDER}, got ${JSON.stringify(order)}`);
    }
    const V = o.vocabSize;
    if (typeof V !== 'number' || !Number.isInteger(V) || V < 1 || V > NGRAM_MAX_VOCAB) {
      bad(`vocabSize must be an integer in 1..${NGRAM_MAX_VOCAB}, got ${JSON.stringify(V)}`);
    }
    const M = o.nodes;
    if (typeof M !== 'number' || !Number.isInteger(M) || M < 1 || M > 0x7fffffff) bad(`nodes must be a positive integer, got ${JSON.stringify(M)}`);
    const N = order as number;
    const vocab = V as number;
    const nodes = M as number;
    return new NGramModel(N, vocab, unpackTrie(o, N, vocab, nodes, bad));
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 1 || order > NGRAM_MAX_ORDER) {
    throw new RangeError(`NGramModel: order must be an integer in 1..${NGRAM_MAX_ORDER}, got ${order}`);
  }
}

function checkVocabSize(vocabSize: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > NGRAM_MAX_VOCAB) {
    throw new RangeError(`NGramModel: vocabSize must be an integer in 1..${NGRAM_MAX_VOCAB}, got ${vocabSize}`);
  }
}

/** Chen & Goodman's modified KN discounts from count-of-counts; [unused, D1, D2, D3+]. */
export function estimateDiscounts(n1: number, n2: number, n3: number, n4: number): number[] {
  const Y = n1 / (n1 + 2 * n2);
  const d = [0, 1 - (2 * Y * n2) / n1, 2 - (3 * Y * n3) / n2, 3 - (4 * Y * n4) / n3];
  for (let i = 1; i <= 3; i++) {
    if (!Number.isFinite(d[i]) || d[i] <= 0 || d[i] >= i) d[i] = FALLBACK_DISCOUNTS[i];
  }
  return d;
}

/** Depth of BFS node h (only called for h inside the precomputed-stats prefix). */
function depthOfContextAt(levelStart: Int32Array, h: number): number {
  let d = 0;
  while (d + 1 < levelStart.length && levelStart[d + 1] <= h) d++;
  return d;
}
