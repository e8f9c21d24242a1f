/**
 * The frozen n-gram trie as text: three base64 streams of unsigned LEB128 varints — child counts
 * per node in breadth-first order, symbols delta-coded among siblings, level counts — typically
 * 3–4 bytes per stored n-gram. NGramModel.toJSON and fromJSON wrap them in the JSON header.
 */
import type { FrozenTrie } from './countingTrie';

/** The three streams of a packed trie (the fields of NGramJSON that hold the trie). */
export interface PackedTrie {
  /** Per node in breadth-first order: number of children. */
  childCounts: string;
  /** Per non-root node: its symbol, delta-coded among siblings (first absolute, then gap − 1). */
  symbols: string;
  /** Per non-root node: its level count c_k (raw at the top order, continuation below). */
  counts: string;
}

/** Pack a frozen trie into its three varint streams. */
export function packTrie({ sym, count, first }: FrozenTrie): PackedTrie {
  const M = sym.length;
  const cc = new VarintWriter(M);
  const ss = new VarintWriter(M);
  const cs = new VarintWriter(M);
  for (let i = 0; i < M; i++) {
    const a = first[i];
    const b = first[i + 1];
    cc.push(b - a);
    let prev = -1;
    for (let x = a; x < b; x++) {
      ss.push(sym[x] - prev - 1);
      prev = sym[x];
      cs.push(count[x]);
    }
  }
  return { childCounts: cc.base64(), symbols: ss.base64(), counts: cs.base64() };
}

/**
 * Unpack the streams of a trie whose header (order N, vocabulary size, node count) was checked;
 * refuses, through `bad`, streams that do not describe a breadth-first trie of that shape.
 */
export function unpackTrie(
  streams: { childCounts?: unknown; symbols?: unknown; counts?: unknown },
  N: number,
  vocab: number,
  nodes: number,
  bad: (why: string) => never,
): FrozenTrie {
  const childCounts = readVarints(streams.childCounts, 'childCounts', nodes, bad);
  const symGaps = readVarints(streams.symbols, 'symbols', nodes - 1, bad);
  const counts = readVarints(streams.counts, 'counts', nodes - 1, bad);

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
  return { sym, count, first };
}

/** Unsigned LEB128 varints into a growing byte buffer, read out as base64. */
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
