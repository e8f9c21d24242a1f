/**
 * Counting the n-grams of a text into a prefix trie, and freezing the trie into the arrays that
 * NGramModel queries (ngram.ts holds the smoothing that reads the counts).
 *
 * Counting uses a prefix trie in an open-addressing hash table keyed by (parent node, symbol),
 * with typed arrays (no per-entry objects). Position j of the text visits the n-grams
 * ids[j..j+k−1], k = 1..N; each is the suffix of the (k+1)-gram visited at j−1, so it is found
 * through that node's suffix link, and only new n-grams and the top order are probed. The
 * continuation counts fall out of the same walk: ids[j..j+k−1] gains a new left context exactly
 * when ids[j−1..j+k−1] was new at step j−1. After counting, the trie is frozen breadth-first
 * order with the children of every node contiguous and sorted by symbol:
 *   sym[i], count[i]                  node i's last symbol and its level count c_k
 *   first[i] .. first[i+1]−1          node i's children
 * 12 bytes per distinct n-gram (orders 1..N), looked up by binary search; no hash table is kept.
 * Measured on 4.2 MB of C (linux/mm), order 10, 5.5 M distinct n-grams: this build 4.5–6 s, a
 * 66 MB model, peak RSS of the whole process 0.37 GB. One Map<string, number> per order keyed by
 * the n-gram's text, counting raw counts only, took 29 s and 363 MB of heap (and a Map holds at
 * most 2^24 entries).
 */
import type { NGramProgress } from './ngram';

/** The frozen trie: breadth-first, the children of every node contiguous and sorted by symbol. */
export interface FrozenTrie {
  /** Node i's symbol (root: −1). */
  sym: Int32Array;
  /** Node i's level count c_k (root: 0). */
  count: Int32Array;
  /** Children of node i are first[i] .. first[i+1]−1; length nodes + 1. */
  first: Int32Array;
}

/**
 * Count all n-grams of orders 1..order in `ids` (vocabulary ids, already checked) and freeze them.
 * `onProgress` receives fractions up to 0.9 now and then; the caller reports 1 when it is done.
 */
export function countNGrams(ids: Int32Array, order: number, onProgress?: NGramProgress): FrozenTrie {
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
  return freeze(trie);
}

/** Re-lay the hash trie breadth-first with sorted, contiguous children. */
function freeze(trie: BuildTrie): FrozenTrie {
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
    return layOut(start, kids, fill, M);
  }
}

/** Breadth-first renumbering; `newToOld` is scratch of M entries. */
function layOut(start: Int32Array, kids: Int32Array, newToOld: Int32Array, M: number): FrozenTrie {
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
  return { sym, count, first };
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
