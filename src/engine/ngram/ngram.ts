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
 * Storage. Counting uses a prefix trie in an open-addressing hash table keyed by
 * (parent node, symbol), with typed arrays (no per-entry objects). Position j of the text visits
 * the n-grams ids[j..j+k−1], k = 1..N; each is the suffix of the (k+1)-gram visited at j−1, so it
 * is found through that node's suffix link, and only new n-grams and the top order are probed.
 * The continuation counts fall out of the same walk: ids[j..j+k−1] gains a new left context
 * exactly when ids[j−1..j+k−1] was new at step j−1. After counting, the trie is frozen breadth-first
 * order with the children of every node contiguous and sorted by symbol:
 *   sym[i], count[i]                  node i's last symbol and its level count c_k
 *   first[i] .. first[i+1]−1          node i's children
 * 12 bytes per distinct n-gram (orders 1..N), looked up by binary search; no hash table is kept.
 * Measured on 4.2 MB of C (linux/mm), order 10, 5.5 M distinct n-grams: this build 4.5–6 s, a
 * 66 MB model, peak RSS of the whole process 0.37 GB. One Map<string, number> per order keyed by
 * the n-gram's text, counting raw counts only, took 29 s and 363 MB of heap (and a Map holds at
 * most 2^24 entries).
 */

export const NGRAM_MAX_ORDER = 16;
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

/** The JSON form written next to a checkpoint. Arrays are base64 varint streams (see toJSON). */
export interface NGramJSON {
  format: typeof FORMAT;
  version: number;
  order: number;
  vocabSize: number;
  /** Number of trie nodes, root included. */
  nodes: number;
  /** Per node in breadth-first order: number of children. */
  childCounts: string;
  /** Per non-root node: its symbol, delta-coded among siblings (first absolute, then gap − 1). */
  symbols: string;
  /** Per non-root node: its level count c_k (raw at the top order, continuation below). */
  counts: string;
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

  private constructor(order: number, vocabSize: number, sym: Int32Array, count: Int32Array, first: Int32Array) {
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
    const N = order;
    const n = ids.length;
    // Initial capacity: a guess at the number of distinct n-grams (grows by doubling).
    const trie = new BuildTrie(Math.max(1024, Math.min(Math.ceil((n * N) / 4), 1 << 22)));

    // Walk of position j: path[k] = node of the k-gram ids[j..j+k−1], k = 1..K.
    // The k-gram at j is the suffix of the (k+1)-gram at j−1, so it is read off that node's suffix
    // link when set; only new n-grams and the top order need a hash probe (~2 per position, not N).
    // A (k+1)-gram's link is still unset exactly when it was created at step j−1, i.e. when the
    // k-gram at j has just gained a new left context: that is its continuation count N1+(•w).
    let prev = new Int32Array(N + 1);
    let path = new Int32Array(N + 1);
    const progressEvery = 1 << 18;
    for (let j = 0; j < n; j++) {
      const K = Math.min(N, n - j);
      let node = 0;
      const top = j > 0 ? Math.min(K, N - 1) : 0; // orders reached through suffix links
      let link = trie.link;
      for (let k = 1; k <= top; k++) {
        const longer = prev[k + 1]; // ids[j−1..j+k−1]; exists since k + 1 ≤ previous K
        const l = link[longer];
        if (l !== 0) {
          node = l - 1;
        } else {
          node = trie.child(node, ids[j + k - 1]);
          link = trie.link; // (the arrays may have grown)
          link[longer] = node + 1;
          trie.count[node]++; // new left context ids[j−1]
        }
        path[k] = node;
      }
      for (let k = top + 1; k <= K; k++) {
        node = trie.child(node, ids[j + k - 1]);
        // Top order: raw count. Orders < N at j = 0: the boundary symbol is the left context.
        trie.count[node]++;
        path[k] = node;
      }
      const t = prev;
      prev = path;
      path = t;
      if (onProgress !== undefined && (j & (progressEvery - 1)) === progressEvery - 1) onProgress((0.9 * (j + 1)) / n);
    }

    const model = NGramModel.freeze(trie, N, vocabSize);
    if (onProgress !== undefined) onProgress(1);
    return model;
  }

  /** Re-lay the hash trie breadth-first with sorted, contiguous children. */
  private static freeze(trie: BuildTrie, order: number, vocabSize: number): NGramModel {
    const M = trie.size;
    trie.dropLookup(); // the hash table and suffix links are not needed any more
    // Children lists by old id, by a counting sort on the parent: the children of old node p are
    // entries start[p] .. start[p+1]−1 of `kids`, each a triple (old id, symbol, count) so that
    // the breadth-first pass below reads each list from one place.
    const start = new Int32Array(M + 1);
    {
      const parent = trie.parent;
      for (let i = 1; i < M; i++) start[parent[i] + 1]++;
      for (let i = 0; i < M; i++) start[i + 1] += start[i];
      const fill = start.slice(0, M);
      const bsym = trie.sym;
      const bcount = trie.count;
      const kids = new Int32Array(Math.max(M - 1, 0) * 3);
      for (let i = 1; i < M; i++) {
        const e = 3 * fill[parent[i]]++;
        kids[e] = i;
        kids[e + 1] = bsym[i];
        kids[e + 2] = bcount[i];
      }
      trie.release();
      return NGramModel.layOut(start, kids, fill, M, order, vocabSize);
    }
  }

  /** Breadth-first renumbering; `newToOld` is scratch of M entries. */
  private static layOut(start: Int32Array, kids: Int32Array, newToOld: Int32Array, M: number, order: number, vocabSize: number): NGramModel {
    const sym = new Int32Array(M);
    const count = new Int32Array(M);
    const first = new Int32Array(M + 1);
    newToOld[0] = 0;
    sym[0] = -1;
    let next = 1;
    for (let i = 0; i < M; i++) {
      const old = newToOld[i];
      const a = start[old];
      const b = start[old + 1];
      // Insertion sort of the child list by symbol (lists are short; the root's has ≤ V entries).
      for (let x = a + 1; x < b; x++) {
        const id = kids[3 * x];
        const s = kids[3 * x + 1];
        const c = kids[3 * x + 2];
        let y = x - 1;
        while (y >= a && kids[3 * y + 1] > s) {
          kids[3 * y + 3] = kids[3 * y];
          kids[3 * y + 4] = kids[3 * y + 1];
          kids[3 * y + 5] = kids[3 * y + 2];
          y--;
        }
        kids[3 * y + 3] = id;
        kids[3 * y + 4] = s;
        kids[3 * y + 5] = c;
      }
      first[i] = next;
      for (let x = a; x < b; x++) {
        newToOld[next] = kids[3 * x];
        sym[next] = kids[3 * x + 1];
        count[next] = kids[3 * x + 2];
        next++;
      }
    }
    first[M] = M;
    return new NGramModel(order, vocabSize, sym, count, first);
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
   * Continue `context` by up to `maxLength` symbols, greedily (beamWidth 1) or by beam search over
   * the summed log-probability. `stop(id, generated)` is asked about each candidate symbol `id`
   * given the symbols generated before it; when it says true, that hypothesis ends there and `id`
   * is not part of the result (its probability still counts in the score). Returns the best
   * finished hypothesis, or the best unfinished one when none finished within maxLength.
   */
  complete(context: ArrayLike<number>, maxLength: number, stop: (id: number, generated: number[]) => boolean, beamWidth = 1): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 0) throw new RangeError(`complete: maxLength must be a non-negative integer, got ${maxLength}`);
    if (!Number.isInteger(beamWidth) || beamWidth < 1) throw new RangeError(`complete: beamWidth must be a positive integer, got ${beamWidth}`);
    const keep = this.order - 1;
    const head: number[] = [];
    for (let i = Math.max(0, context.length - keep); i < context.length; i++) head.push(context[i]);

    interface Hyp {
      seq: number[];
      score: number;
    }
    let beams: Hyp[] = [{ seq: [], score: 0 }];
    let best = null as Hyp | null; // best finished hypothesis
    const topIds = new Int32Array(beamWidth);
    const topP = new Float64Array(beamWidth);
    for (let step = 0; step < maxLength && beams.length > 0; step++) {
      const candidates: Hyp[] = [];
      for (const beam of beams) {
        const ctx = head.concat(beam.seq);
        const p = this.probabilities64(ctx.length > keep ? ctx.slice(ctx.length - keep) : ctx);
        const m = topK(p, beamWidth, topIds, topP);
        for (let r = 0; r < m; r++) {
          const id = topIds[r];
          const score = beam.score + Math.log(topP[r]);
          if (stop(id, beam.seq)) {
            if (best === null || score > best.score) best = { seq: beam.seq, score };
          } else {
            candidates.push({ seq: beam.seq.concat([id]), score });
          }
        }
      }
      candidates.sort((a, b) => b.score - a.score);
      beams = candidates.slice(0, beamWidth);
      // Scores only fall as hypotheses grow, so no live beam can beat a better finished one.
      if (best !== null && (beams.length === 0 || beams[0].score <= best.score)) return best.seq;
    }
    if (best !== null && (beams.length === 0 || best.score >= beams[0].score)) return best.seq;
    return beams.length > 0 ? beams[0].seq : [];
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
   * Compact JSON: three base64 streams of unsigned LEB128 varints (child counts, sibling-delta
   * symbols, counts), typically 3–4 bytes per stored n-gram. Discounts and statistics are
   * recomputed on load, so a round trip gives bit-identical probabilities.
   */
  toJSON(): NGramJSON {
    const M = this.sym.length;
    const cc = new VarintWriter(M);
    const ss = new VarintWriter(M);
    const cs = new VarintWriter(M);
    for (let i = 0; i < M; i++) {
      const a = this.first[i];
      const b = this.first[i + 1];
      cc.push(b - a);
      let prev = -1;
      for (let x = a; x < b; x++) {
        ss.push(this.sym[x] - prev - 1);
        prev = this.sym[x];
        cs.push(this.count[x]);
      }
    }
    return {
      format: FORMAT,
      version: FORMAT_VERSION,
      order: this.order,
      vocabSize: this.vocabSize,
      nodes: M,
      childCounts: cc.base64(),
      symbols: ss.base64(),
      counts: cs.base64(),
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
    const childCounts = readVarints(o.childCounts, 'childCounts', nodes, bad);
    const symGaps = readVarints(o.symbols, 'symbols', nodes - 1, bad);
    const counts = readVarints(o.counts, 'counts', nodes - 1, bad);

    const first = new Int32Array(nodes + 1);
    const sym = new Int32Array(nodes);
    const count = new Int32Array(nodes);
    sym[0] = -1;
    let next = 1;
    // Depth bookkeeping: nodes [levelEnd .. ) are one level deeper than the node being expanded.
    let depth = 0;
    let levelEnd = 1;
    for (let i = 0; i < nodes; i++) {
      if (i === levelEnd) {
        depth++;
        levelEnd = next;
      }
      if (next <= i && i > 0) bad(`node ${i} has no parent (child counts are not a breadth-first tree)`);
      const nc = childCounts[i];
      if (nc > 0 && depth >= N) bad(`node ${i} at depth ${depth} has children but order is ${N}`);
      if (nc > vocab) bad(`node ${i} has ${nc} children but vocabSize is ${vocab}`);
      first[i] = next;
      if (next + nc > nodes) bad(`child counts describe more than ${nodes} nodes`);
      let prev = -1;
      for (let x = next; x < next + nc; x++) {
        const s = prev + 1 + symGaps[x - 1];
        if (s >= vocab) bad(`node ${x} has symbol ${s}, outside the vocabulary [0, ${vocab})`);
        const c = counts[x - 1];
        if (c < 1 || c > 0x7fffffff) bad(`node ${x} has count ${c}, expected a positive 32-bit count`);
        sym[x] = s;
        count[x] = c;
        prev = s;
      }
      next += nc;
    }
    if (next !== nodes) bad(`child counts describe ${next} nodes, header says ${nodes}`);
    first[nodes] = nodes;
    return new NGramModel(N, vocab, sym, count, first);
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

/** Indices and values of the m = min(k, p.length) largest entries of p, best first. */
function topK(p: Float64Array, k: number, ids: Int32Array, vals: Float64Array): number {
  let m = 0;
  for (let w = 0; w < p.length; w++) {
    const v = p[w];
    if (m === k && v <= vals[m - 1]) continue;
    let y = m < k ? m++ : m - 1;
    while (y > 0 && vals[y - 1] < v) {
      vals[y] = vals[y - 1];
      ids[y] = ids[y - 1];
      y--;
    }
    vals[y] = v;
    ids[y] = w;
  }
  return m;
}

/**
 * Build-time trie: nodes (parent, symbol, count) in growable typed arrays, found through an
 * open-addressing hash table (linear probing, load ≤ 0.5) over the key (parent, symbol).
 */
class BuildTrie {
  parent: Int32Array;
  sym: Int32Array;
  count: Int32Array;
  /** Suffix link + 1 (node of the n-gram without its first symbol); 0 = not known yet. */
  link: Int32Array;
  size = 1; // node 0 = root
  private table: Int32Array; // node id + 1, 0 = empty
  private mask: number;

  constructor(initialNodes: number) {
    const cap = nextPow2(initialNodes);
    this.parent = new Int32Array(cap);
    this.sym = new Int32Array(cap);
    this.count = new Int32Array(cap);
    this.link = new Int32Array(cap);
    this.parent[0] = -1;
    this.sym[0] = -1;
    this.table = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
  }

  /** The child of `node` with symbol s, created (count 0) if absent. */
  child(node: number, s: number): number {
    let i = hashKey(node, s) & this.mask;
    const table = this.table;
    for (;;) {
      const e = table[i];
      if (e === 0) break;
      const id = e - 1;
      if (this.parent[id] === node && this.sym[id] === s) return id;
      i = (i + 1) & this.mask;
    }
    const id = this.size;
    if (id >= this.parent.length) {
      this.growNodes();
    }
    if ((id + 1) * 2 > this.table.length) {
      this.growTable();
      return this.child(node, s);
    }
    this.parent[id] = node;
    this.sym[id] = s;
    table[i] = id + 1;
    this.size = id + 1;
    return id;
  }

  /** Drop the hash table and suffix links (counting is over; child() no longer works). */
  dropLookup(): void {
    this.link = this.table = new Int32Array(0);
    this.mask = 0;
  }

  /** Drop all arrays (after freezing) so that their memory can be reclaimed. */
  release(): void {
    this.parent = this.sym = this.count = this.link = this.table = new Int32Array(0);
    this.mask = 0;
  }

  private growNodes(): void {
    const cap = this.parent.length * 2;
    if (cap > 0x7fffffff) throw new RangeError('NGramModel.build: more than 2^31 distinct n-grams; lower the order or the text size');
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.parent = grow(this.parent);
    this.sym = grow(this.sym);
    this.count = grow(this.count);
    this.link = grow(this.link);
  }

  private growTable(): void {
    const cap = this.table.length * 2;
    const table = new Int32Array(cap);
    const mask = cap - 1;
    for (let id = 1; id < this.size; id++) {
      let i = hashKey(this.parent[id], this.sym[id]) & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = id + 1;
    }
    this.table = table;
    this.mask = mask;
  }
}

function hashKey(parent: number, s: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 13;
  return h >>> 0;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

class VarintWriter {
  private buf: Uint8Array;
  private len = 0;
  constructor(hint: number) {
    this.buf = new Uint8Array(Math.max(16, hint));
  }
  push(v: number): void {
    if (this.len + 5 > this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  base64(): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len).toString('base64');
  }
}

/** Decode exactly `expected` unsigned varints (each < 2^32) from a base64 string. */
function readVarints(v: unknown, field: string, expected: number, bad: (why: string) => never): Uint32Array {
  if (typeof v !== 'string') return bad(`${field} must be a base64 string`);
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return bad(`${field} is not valid base64`);
  const bytes = Buffer.from(v, 'base64');
  const out = new Uint32Array(expected);
  let pos = 0;
  for (let i = 0; i < expected; i++) {
    let x = 0;
    let mul = 1;
    for (;;) {
      if (pos >= bytes.length) return bad(`${field} ends after ${i} of ${expected} values`);
      const b = bytes[pos++];
      x += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 28) return bad(`${field} value ${i} is longer than a 32-bit varint`);
    }
    if (x > 0xffffffff) return bad(`${field} value ${i} exceeds 32 bits`);
    out[i] = x;
  }
  if (pos !== bytes.length) bad(`${field} has ${bytes.length - pos} trailing bytes after ${expected} values`);
  return out;
}
