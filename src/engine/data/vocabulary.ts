/**
 * The character vocabulary: the symbols a character-level model reads and writes.
 *
 * A symbol is one Unicode code point (not one UTF-16 code unit: '😀' is one symbol, 'é' written
 * as 'e' + U+0301 is two). Symbols are ordered most frequent first, ties broken by code point, so
 * the same text always gives the same vocabulary. The vocabulary is capped (default 256 symbols);
 * every code point that did not make the cut maps to the unknown symbol.
 *
 * The unknown symbol is index 0 (`UNKNOWN_INDEX`) and decodes to U+FFFD REPLACEMENT CHARACTER
 * (`UNKNOWN_SYMBOL`). It can never collide with a real character: U+FFFD in the text already means
 * "a character that was lost", so it is never given an index of its own and encodes to 0 like any
 * other unknown code point. Lone (unpaired) surrogates encode to 0 as well.
 */
import { isHighSurrogate, isLowSurrogate, isSingleCodePoint, isSurrogate, pairCodePoint } from './codePoints';

/** Index of the unknown symbol. */
export const UNKNOWN_INDEX = 0;
/** How the unknown symbol decodes. */
export const UNKNOWN_SYMBOL = '\uFFFD';
/** Default vocabulary size, the unknown symbol included. */
export const DEFAULT_VOCABULARY_SIZE = 256;

const JSON_FORMAT = 'lstm-lab-vocabulary';
const JSON_VERSION = 1;
const UNKNOWN_CODE_POINT = 0xfffd;

/** The serialised vocabulary (stored in checkpoints). `symbols[0]` is always the unknown symbol. */
export interface VocabularyJSON {
  format: typeof JSON_FORMAT;
  version: typeof JSON_VERSION;
  /** Every symbol by index, one code point each; `symbols[0]` is '\uFFFD' (unknown). */
  symbols: string[];
}

export class VocabularyError extends Error {
  override name = 'VocabularyError';
}

export class Vocabulary {
  /** Every symbol by index; `symbols[0]` is the unknown symbol '\uFFFD'. */
  readonly symbols: readonly string[];
  /** BMP code point → index (0 for unknown). */
  private readonly bmpIndex: Int32Array;
  /** Astral code point → index; absent means unknown. */
  private readonly astralIndex: Map<number, number>;

  private constructor(symbols: string[]) {
    this.symbols = Object.freeze(symbols.slice());
    this.bmpIndex = new Int32Array(0x10000);
    this.astralIndex = new Map();
    for (let i = 1; i < symbols.length; i++) {
      const cp = symbols[i].codePointAt(0)!;
      if (cp < 0x10000) this.bmpIndex[cp] = i;
      else this.astralIndex.set(cp, i);
    }
  }

  /**
   * The `maxSize` − 1 most frequent code points of `text` (ties broken by code point), after the
   * unknown symbol at index 0.
   */
  static fromText(text: string, maxSize: number = DEFAULT_VOCABULARY_SIZE): Vocabulary {
    if (!Number.isInteger(maxSize) || maxSize < 2) {
      throw new VocabularyError(
        `The vocabulary size must be a whole number of at least 2 (the unknown symbol and one character); got ${maxSize}.`,
      );
    }
    const bmpCounts = new Float64Array(0x10000);
    const astralCounts = new Map<number, number>();
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const unit = text.charCodeAt(i);
      if (isHighSurrogate(unit) && i + 1 < n) {
        const low = text.charCodeAt(i + 1);
        if (isLowSurrogate(low)) {
          const cp = pairCodePoint(unit, low);
          astralCounts.set(cp, (astralCounts.get(cp) ?? 0) + 1);
          i++;
          continue;
        }
      }
      bmpCounts[unit]++;
    }
    const seen: { cp: number; count: number }[] = [];
    for (let cp = 0; cp < 0x10000; cp++) {
      if (bmpCounts[cp] === 0) continue;
      if (cp === UNKNOWN_CODE_POINT || isSurrogate(cp)) continue; // lone surrogates, U+FFFD: unknown
      seen.push({ cp, count: bmpCounts[cp] });
    }
    for (const [cp, count] of astralCounts) seen.push({ cp, count });
    seen.sort((a, b) => b.count - a.count || a.cp - b.cp);
    const symbols = [UNKNOWN_SYMBOL];
    for (let i = 0; i < seen.length && symbols.length < maxSize; i++) symbols.push(String.fromCodePoint(seen[i].cp));
    return new Vocabulary(symbols);
  }

  /** A vocabulary from its `toJSON()` form; throws `VocabularyError` saying what is wrong. */
  static fromJSON(json: unknown): Vocabulary {
    const where = 'The saved vocabulary is malformed';
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new VocabularyError(`${where}: expected an object with "format", "version" and "symbols", got ${describeValue(json)}.`);
    }
    const record = json as Record<string, unknown>;
    if (record.format !== JSON_FORMAT) {
      throw new VocabularyError(`${where}: "format" should be "${JSON_FORMAT}", got ${describeValue(record.format)}.`);
    }
    if (record.version !== JSON_VERSION) {
      throw new VocabularyError(
        `${where}: version ${describeValue(record.version)} is not supported (this LSTM Lab reads version ${JSON_VERSION}). ` +
          'Retrain the model or use the LSTM Lab version that saved it.',
      );
    }
    const symbols = record.symbols;
    if (!Array.isArray(symbols) || symbols.length < 1) {
      throw new VocabularyError(`${where}: "symbols" should be a non-empty array of one-character strings, got ${describeValue(symbols)}.`);
    }
    if (symbols[0] !== UNKNOWN_SYMBOL) {
      throw new VocabularyError(`${where}: symbols[0] should be the unknown symbol "\\uFFFD", got ${describeValue(symbols[0])}.`);
    }
    const seen = new Set<string>();
    for (let i = 1; i < symbols.length; i++) {
      const s: unknown = symbols[i];
      if (typeof s !== 'string' || !isSingleCodePoint(s)) {
        throw new VocabularyError(`${where}: symbols[${i}] should be a string of exactly one character (code point), got ${describeValue(s)}.`);
      }
      if (s === UNKNOWN_SYMBOL) {
        throw new VocabularyError(`${where}: symbols[${i}] is the unknown symbol "\\uFFFD", which may only appear at index 0.`);
      }
      if (seen.has(s)) {
        throw new VocabularyError(`${where}: symbols[${i}] (${JSON.stringify(s)}) appears twice.`);
      }
      seen.add(s);
    }
    return new Vocabulary(symbols as string[]);
  }

  toJSON(): VocabularyJSON {
    return { format: JSON_FORMAT, version: JSON_VERSION, symbols: this.symbols.slice() };
  }

  /** Number of symbols, the unknown symbol included. */
  get size(): number {
    return this.symbols.length;
  }

  /** One index per code point of `text`; code points outside the vocabulary become `UNKNOWN_INDEX`. */
  encode(text: string): Int32Array {
    const n = text.length;
    const out = new Int32Array(n);
    const bmp = this.bmpIndex;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const unit = text.charCodeAt(i);
      if (isHighSurrogate(unit) && i + 1 < n) {
        const low = text.charCodeAt(i + 1);
        if (isLowSurrogate(low)) {
          const cp = pairCodePoint(unit, low);
          out[k++] = this.astralIndex.get(cp) ?? UNKNOWN_INDEX;
          i++;
          continue;
        }
      }
      out[k++] = bmp[unit]; // lone surrogates and U+FFFD are never given an index, so they read 0
    }
    return k === n ? out : out.slice(0, k);
  }

  /** The text of `ids`; the unknown symbol decodes to '\uFFFD'. Throws on an index outside the vocabulary. */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) parts[i] = this.symbol(ids[i]);
    return parts.join('');
  }

  /** Index of the one-code-point string `ch`, 0 for '\uFFFD', or -1 when `ch` is not in the vocabulary (or not one code point). */
  indexOf(ch: string): number {
    if (!isSingleCodePoint(ch)) return -1;
    const cp = ch.codePointAt(0)!;
    if (cp === UNKNOWN_CODE_POINT) return UNKNOWN_INDEX;
    const index = cp < 0x10000 ? this.bmpIndex[cp] : (this.astralIndex.get(cp) ?? 0);
    return index === UNKNOWN_INDEX ? -1 : index;
  }

  /** The symbol with index `id`; throws `VocabularyError` when `id` is not an index of this vocabulary. */
  symbol(id: number): string {
    const s = Number.isInteger(id) ? this.symbols[id] : undefined;
    if (s === undefined) {
      throw new VocabularyError(
        `Symbol index ${id} is outside the vocabulary (valid indices are 0 to ${this.symbols.length - 1}). ` +
          'The model and the vocabulary probably come from different checkpoints.',
      );
    }
    return s;
  }

  /** A stable 16-hex-digit hash of the symbol list: equal vocabularies have equal fingerprints. */
  fingerprint(): string {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ 0x9e3779b9;
    for (const s of this.symbols) {
      const cp = s.codePointAt(0)!;
      // Each code point as 3 bytes (code points fit in 21 bits): fixed width, so no separator is needed.
      for (let shift = 16; shift >= 0; shift -= 8) {
        const byte = (cp >>> shift) & 0xff;
        h1 = Math.imul(h1 ^ byte, 0x01000193);
        h2 = Math.imul(h2 ^ byte, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
    }
    return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  }

  equals(other: Vocabulary): boolean {
    if (other.symbols.length !== this.symbols.length) return false;
    for (let i = 0; i < this.symbols.length; i++) if (other.symbols[i] !== this.symbols[i]) return false;
    return true;
  }

  /** Fraction of the code points of `text` that the vocabulary knows (1 for empty text). U+FFFD counts as unknown. */
  coverage(text: string): number {
    const ids = this.encode(text);
    if (ids.length === 0) return 1;
    let known = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== UNKNOWN_INDEX) known++;
    return known / ids.length;
  }
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
