/**
 * A cache n-gram: a character n-gram model over the text read so far (the open file, or the files
 * opened before it), updated one symbol at a time as text is read or typed. It is the "cache" of
 * Kuhn & De Mori (1990) and of Tu, Su & Devanbu (FSE 2014), at the character level: code repeats
 * itself locally (the identifiers of this file, the shape of its last function), and a model of the
 * last few thousand characters knows what a corpus model built elsewhere cannot.
 *
 * Smoothing: interpolated Witten-Bell (Witten & Bell 1991), the usual choice for caches, since it
 * needs no count-of-counts and so stays right while the counts change. For a context h of length L
 * (h' = h without its oldest symbol), c(hw) the times w followed h, c(h) = Σ_w c(hw) and T(h) the
 * number of distinct symbols that followed h:
 *
 *   P_L(w | h) = (c(hw) + T(h) · P_{L−1}(w | h')) / (c(h) + T(h))          when c(h) > 0
 *   P_L(w | h) = P_{L−1}(w | h')                                          when h was never followed
 *   P_{−1}(w)  = base(w)          (uniform 1/V, or the distribution of an outer model: see `into`)
 *
 * Contexts of length 0 … order − 1. A context never followed has no longer context that was
 * followed, so the walk stops at the first unseen one; its length is the longest match, a feature
 * of how much the cache knows here.
 *
 * Storage: one hash table from a context (its 53-bit hash: two independent 32-bit lanes, extended one
 * symbol at a time from the nearest symbol back, so the contexts ending at a position cost one mix
 * each) to a context record, and per context a linked list of its followers in typed arrays:
 *   ctxTotal[c], ctxTypes[c], ctxHead[c]        c(h), T(h), its first follower entry
 *   entSym[e], entCount[e], entNext[e]          a follower, c(hw), the next follower of the same h
 * Memory is bounded by `capacity`: when that many symbols have been read, the counts are rebuilt from
 * the last capacity/2 (so each symbol is counted at most twice: amortised O(order) per symbol).
 */

const INITIAL_CONTEXTS = 1024;
const TWO_POW_21 = 2097152;

export interface CacheDistribution {
  /** Length of the longest context (0 … order − 1) that the cache has seen followed; −1 when empty. */
  longestMatch: number;
  /** c(h) of that longest context: how often it was seen. */
  matchCount: number;
}

export class CacheNGram {
  readonly order: number;
  readonly vocabSize: number;
  /** Symbols kept at most (the counts cover the last capacity/2 … capacity symbols read). */
  readonly capacity: number;

  private history: Int32Array<ArrayBuffer>;
  private length = 0;
  private readonly contexts = new Map<number, number>();
  private ctxTotal = new Int32Array(INITIAL_CONTEXTS);
  private ctxTypes = new Int32Array(INITIAL_CONTEXTS);
  private ctxHead = new Int32Array(INITIAL_CONTEXTS);
  private contextCount = 0;
  private entSym = new Int32Array(INITIAL_CONTEXTS);
  private entCount = new Int32Array(INITIAL_CONTEXTS);
  private entNext = new Int32Array(INITIAL_CONTEXTS);
  private entryCount = 0;
  /** Scratch: context record per length for one query. */
  private readonly found: Int32Array;

  constructor(order: number, vocabSize: number, capacity = 1 << 18) {
    if (!Number.isInteger(order) || order < 1 || order > 32) throw new RangeError(`cache n-gram order must be 1–32, got ${order}`);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`vocabulary size must be ≥ 1, got ${vocabSize}`);
    if (!Number.isInteger(capacity) || capacity < 2 * order) throw new RangeError(`cache capacity must be a whole number ≥ ${2 * order}, got ${capacity}`);
    this.order = order;
    this.vocabSize = vocabSize;
    this.capacity = capacity;
    this.history = new Int32Array(Math.min(capacity, 4096));
    this.found = new Int32Array(order);
  }

  /** Symbols the counts cover. */
  get size(): number {
    return this.length;
  }

  /** Forget everything read. */
  reset(): void {
    this.length = 0;
    this.contexts.clear();
    this.contextCount = 0;
    this.entryCount = 0;
  }

  /** Read symbols, in order. */
  observeAll(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) this.observe(ids[i]);
  }

  /** Read one symbol: it follows every context of length 0 … order − 1 that ends before it. */
  observe(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`symbol ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    if (this.length === this.capacity) this.rebuildFromRecent();
    if (this.length === this.history.length) this.history = grow(this.history, Math.min(this.capacity, this.history.length * 2));
    const h = this.history;
    const j = this.length;
    let a = 0x811c9dc5;
    let b = 0x27d4eb2f;
    const deepest = Math.min(this.order - 1, j);
    for (let L = 0; L <= deepest; L++) {
      if (L > 0) {
        const s = h[j - L];
        a = mixA(a, s);
        b = mixB(b, s);
      }
      this.count(keyOf(a, b), id);
    }
    h[j] = id;
    this.length = j + 1;
  }

  /**
   * The next-symbol distribution after the last symbols read (or after `context`, its last order − 1
   * symbols, when given), written into `out` (length V). `base` is what the shortest context backs off
   * to: uniform when absent, else an outer model's distribution (nesting caches).
   */
  into(out: Float64Array, base?: ArrayLike<number>, context?: ArrayLike<number>): CacheDistribution {
    const V = this.vocabSize;
    if (out.length !== V) throw new RangeError(`the output has ${out.length} entries, the vocabulary ${V}`);
    if (base) for (let w = 0; w < V; w++) out[w] = base[w];
    else out.fill(1 / V);
    const ctx = context ?? this.history.subarray(Math.max(0, this.length - (this.order - 1)), this.length);
    let a = 0x811c9dc5;
    let b = 0x27d4eb2f;
    let levels = 0;
    const deepest = Math.min(this.order - 1, ctx.length);
    for (let L = 0; L <= deepest; L++) {
      if (L > 0) {
        const s = ctx[ctx.length - L];
        a = mixA(a, s);
        b = mixB(b, s);
      }
      const c = this.contexts.get(keyOf(a, b));
      if (c === undefined) break;
      this.found[levels++] = c;
    }
    for (let i = 0; i < levels; i++) {
      const c = this.found[i];
      const total = this.ctxTotal[c];
      const types = this.ctxTypes[c];
      const norm = 1 / (total + types);
      const keep = types * norm;
      for (let w = 0; w < V; w++) out[w] *= keep;
      for (let e = this.ctxHead[c]; e >= 0; e = this.entNext[e]) out[this.entSym[e]] += this.entCount[e] * norm;
    }
    return { longestMatch: levels - 1, matchCount: levels > 0 ? this.ctxTotal[this.found[levels - 1]] : 0 };
  }

  private count(key: number, id: number): void {
    let c = this.contexts.get(key);
    if (c === undefined) {
      c = this.contextCount++;
      if (c === this.ctxTotal.length) {
        const n = c * 2;
        this.ctxTotal = grow(this.ctxTotal, n);
        this.ctxTypes = grow(this.ctxTypes, n);
        this.ctxHead = grow(this.ctxHead, n);
      }
      this.ctxTotal[c] = 0;
      this.ctxTypes[c] = 0;
      this.ctxHead[c] = -1;
      this.contexts.set(key, c);
    }
    this.ctxTotal[c]++;
    for (let e = this.ctxHead[c]; e >= 0; e = this.entNext[e]) {
      if (this.entSym[e] === id) {
        this.entCount[e]++;
        return;
      }
    }
    const e = this.entryCount++;
    if (e === this.entSym.length) {
      const n = e * 2;
      this.entSym = grow(this.entSym, n);
      this.entCount = grow(this.entCount, n);
      this.entNext = grow(this.entNext, n);
    }
    this.entSym[e] = id;
    this.entCount[e] = 1;
    this.entNext[e] = this.ctxHead[c];
    this.ctxHead[c] = e;
    this.ctxTypes[c]++;
  }

  private rebuildFromRecent(): void {
    const keep = this.history.slice(this.length - (this.capacity >> 1), this.length);
    this.reset();
    this.observeAll(keep);
  }
}

function mixA(a: number, s: number): number {
  a = Math.imul(a ^ (s + 1), 0x9e3779b1);
  return a ^ (a >>> 15);
}

function mixB(b: number, s: number): number {
  b = Math.imul((b + s + 0x7f4a7c15) | 0, 0x85ebca77);
  return b ^ (b >>> 13);
}

/** Two 32-bit lanes as one exact double (53 bits): a Map key without allocation. */
function keyOf(a: number, b: number): number {
  return (a >>> 0) * TWO_POW_21 + (b >>> 11);
}

function grow(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(n);
  out.set(a);
  return out;
}
