/**
 * The training corpus: the text files of a folder (or one file), read deterministically and split
 * into training and validation text. Which files of a folder are read, and how each is read
 * (built-in skips, .gitignore, include/exclude globs, size, binary and UTF-8 checks, the total
 * cap), is in corpusFiles.ts.
 *
 * A file given directly is a corpus of one file; include/exclude globs do not apply to it.
 *
 * Validation holds out whole files: `round(validationFraction × files)` of them (at least one when
 * there are two files or more), those whose relative path has the smallest stable hash. A file's
 * hash does not depend on the other files, so adding a file changes the held-out set by at most
 * the file added and one file at the margin. Files under `MIN_HELD_OUT_CHARS` characters are not
 * held out while at least two larger ones exist. A corpus of one file holds out the last
 * `validationFraction` of its text instead, cut at the nearest line boundary, and says so in
 * `splitNote`.
 */

import { existsSync, promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { countCodePoints, isLowSurrogate } from './codePoints';
import { type Candidate, compareCodeUnits, errorCode, normaliseText, readCandidates, walkFolder } from './corpusFiles';

/** Why a file or folder was not used. */
export type SkipReason =
  | 'excluded'
  | 'gitignored'
  | 'binary'
  | 'invalid-utf8'
  | 'too-large'
  | 'total-cap'
  | 'symlink'
  | 'unreadable'
  | 'empty';

export const SKIP_REASONS: readonly SkipReason[] = [
  'excluded',
  'gitignored',
  'binary',
  'invalid-utf8',
  'too-large',
  'total-cap',
  'symlink',
  'unreadable',
  'empty',
];

export interface SkippedPath {
  /** Relative to the corpus root, POSIX separators; folders end with '/'. */
  path: string;
  reason: SkipReason;
  /** For 'unreadable': the system error (e.g. 'EACCES'). */
  detail?: string;
}

export interface CorpusFile {
  /** Relative to the corpus root, POSIX separators (the file name for a one-file corpus). */
  path: string;
  /** Normalised text: no BOM, LF line ends. */
  text: string;
  /** Length of `text` in code points. */
  chars: number;
}

export interface Corpus {
  /** The folder or file that was read (absolute), or the name given to `corpusFromText`. */
  root: string;
  /** Every file used, in order of path. */
  files: CorpusFile[];
  /** Files used for training, in order of path. For a one-file corpus: the head of that file. */
  trainFiles: CorpusFile[];
  /** Files held out for validation, in order of path. For a one-file corpus: the tail of that file (or nothing). */
  validationFiles: CorpusFile[];
  /** `trainFiles` concatenated, each followed by '\n' unless it ends with one. */
  trainText: string;
  /** `validationFiles` concatenated, each followed by '\n' unless it ends with one. */
  validationText: string;
  /** Code points in all files. */
  totalChars: number;
  /** Everything not used, in order of path. */
  skipped: SkippedPath[];
  skippedByReason: Record<SkipReason, number>;
  /** How the split was made when it was not "whole files held out". */
  splitNote?: string;
}

export interface CorpusOptions {
  /** Globs of files to read (see corpusFiles.ts for how globs match). */
  include: string[];
  /** Globs of files and folders to skip, on top of the built-in ones. */
  exclude: string[];
  /** Larger files are skipped ('too-large'). */
  maxFileBytes: number;
  /** Reading stops before the file that would pass this total ('total-cap'). */
  maxTotalBytes: number;
  /** Share of files (or, for one file, of its text) held out for validation, in [0, 1). */
  validationFraction: number;
  respectGitignore: boolean;
}

/** Source code and text. */
export const DEFAULT_INCLUDE: readonly string[] = [
  ...[
    // C family
    'c', 'h', 'cc', 'cpp', 'cxx', 'c++', 'hh', 'hpp', 'hxx', 'h++', 'inl', 'ipp', 'm', 'mm', 'cu', 'cuh',
    // scripting and application languages
    'py', 'pyi', 'pyx', 'js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'java', 'go', 'rs', 'rb',
    'php', 'cs', 'fs', 'fsx', 'vb', 'swift', 'kt', 'kts', 'scala', 'sc', 'groovy', 'gradle', 'dart',
    'clj', 'cljs', 'edn', 'lua', 'pl', 'pm', 'r', 'jl', 'ex', 'exs', 'erl', 'hrl', 'elm', 'hs', 'lhs',
    'ml', 'mli', 'nim', 'zig', 'd', 'v', 'sv', 'vhd', 'vhdl', 'f', 'f90', 'f95', 'for', 'ada', 'adb',
    'ads', 'pas', 'lisp', 'el', 'scm', 'rkt', 'tcl', 'asm', 's', 'vue', 'svelte', 'sol',
    // shells and build scripts
    'sh', 'bash', 'zsh', 'fish', 'ps1', 'bat', 'cmd', 'mk', 'cmake', 'bzl', 'nix',
    // data, markup, styles, docs
    'sql', 'graphql', 'proto', 'html', 'htm', 'xml', 'xsl', 'svg', 'css', 'scss', 'sass', 'less',
    'md', 'markdown', 'txt', 'text', 'rst', 'adoc', 'org', 'tex', 'bib', 'json', 'jsonc', 'json5',
    'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf', 'properties', 'csv', 'tsv',
  ].map((ext) => `*.${ext}`),
  'Makefile', 'GNUmakefile', 'Dockerfile', 'Containerfile', 'CMakeLists.txt', 'Rakefile', 'Gemfile',
  'Jenkinsfile', 'Vagrantfile', 'BUILD', 'WORKSPACE', 'README', 'LICENSE', 'COPYING', 'AUTHORS', 'CHANGELOG',
];

export const DEFAULT_CORPUS_OPTIONS: Readonly<CorpusOptions> = Object.freeze({
  include: [...DEFAULT_INCLUDE],
  exclude: [],
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 50_000_000,
  validationFraction: 0.05,
  respectGitignore: true,
});

/** Files shorter than this (code points) are not held out while at least two longer files exist. */
export const MIN_HELD_OUT_CHARS = 64;

export type CorpusErrorCode = 'not-found' | 'unreadable' | 'empty' | 'aborted' | 'invalid-options';

export class CorpusError extends Error {
  override name = 'CorpusError';
  constructor(
    readonly code: CorpusErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Read the corpus at `path` (a folder or a file). `onProgress` is called after each file is
 * examined: `filesRead` files examined so far, `bytesRead` bytes read from disk so far.
 */
export async function readCorpus(
  path: string,
  options?: Partial<CorpusOptions>,
  onProgress?: (p: { filesRead: number; bytesRead: number }) => void,
  signal?: AbortSignal,
): Promise<Corpus> {
  const opts = resolveOptions(options);
  throwIfAborted(signal);
  const root = nodePath.resolve(path);
  let rootStat;
  try {
    rootStat = await fs.stat(root);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CorpusError('not-found', `No such file or folder: ${root}. Check the path of the corpus.`);
    }
    throw new CorpusError('unreadable', `Cannot open the corpus ${root} (${code ?? String(err)}). Check its permissions.`);
  }

  const skipped: SkippedPath[] = [];
  let candidates: Candidate[];
  if (rootStat.isFile()) {
    candidates = [{ path: nodePath.basename(root), absolute: root }];
  } else if (rootStat.isDirectory()) {
    candidates = [];
    await walkFolder(root, opts, candidates, skipped, () => throwIfAborted(signal));
    candidates.sort((a, b) => compareCodeUnits(a.path, b.path));
  } else {
    throw new CorpusError('unreadable', `${root} is neither a file nor a folder; give a folder or a text file as the corpus.`);
  }

  const files = await readCandidates(candidates, opts, skipped, onProgress, () => throwIfAborted(signal));
  skipped.sort((a, b) => compareCodeUnits(a.path, b.path));
  const skippedByReason = countByReason(skipped);
  if (files.length === 0) {
    throw new CorpusError('empty', describeNothingUsable(root, skipped));
  }
  return assembleCorpus(root, files, skipped, skippedByReason, opts.validationFraction);
}

/** A corpus of one text (for tests and for "train on this text"), split like a one-file corpus. */
export function corpusFromText(
  name: string,
  text: string,
  validationFraction: number = DEFAULT_CORPUS_OPTIONS.validationFraction,
): Corpus {
  checkValidationFraction(validationFraction);
  const normalised = normaliseText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (normalised.length === 0) {
    throw new CorpusError('empty', `The text "${name}" is empty; there is nothing to train on.`);
  }
  const file: CorpusFile = { path: name, text: normalised, chars: countCodePoints(normalised) };
  return assembleCorpus(name, [file], [], countByReason([]), validationFraction);
}

/** A few lines for people: files and characters read, the split, what was skipped and why. */
export function describeCorpus(c: Corpus): string {
  const trainChars = c.trainFiles.reduce((sum, f) => sum + f.chars, 0);
  const validationChars = c.validationFiles.reduce((sum, f) => sum + f.chars, 0);
  const oneFileSplit = c.files.length === 1;
  const lines = [
    `${plural(c.files.length, 'file')}, ${plural(c.totalChars, 'character')} from ${c.root}`,
    oneFileSplit
      ? `training: ${plural(trainChars, 'character')}; validation: ${plural(validationChars, 'character')}`
      : `training: ${plural(c.trainFiles.length, 'file')}, ${plural(trainChars, 'character')}; ` +
        `validation: ${plural(c.validationFiles.length, 'file')}, ${plural(validationChars, 'character')}`,
  ];
  if (c.skipped.length > 0) lines.push(`skipped ${formatCount(c.skipped.length)}: ${formatReasonCounts(c.skippedByReason, ' ')}`);
  if (c.splitNote) lines.push(c.splitNote);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Options

function resolveOptions(options: Partial<CorpusOptions> | undefined): CorpusOptions {
  const opts: CorpusOptions = { ...DEFAULT_CORPUS_OPTIONS, ...stripUndefined(options ?? {}) };
  const checkGlobs = (name: string, globs: unknown) => {
    if (!Array.isArray(globs) || globs.some((g) => typeof g !== 'string' || g.length === 0)) {
      throw new CorpusError('invalid-options', `Corpus option "${name}" must be a list of non-empty glob strings.`);
    }
  };
  checkGlobs('include', opts.include);
  checkGlobs('exclude', opts.exclude);
  if (opts.include.length === 0) {
    throw new CorpusError('invalid-options', 'Corpus option "include" is empty, so no file could be read; give at least one glob such as "*.py".');
  }
  for (const name of ['maxFileBytes', 'maxTotalBytes'] as const) {
    if (!(Number.isFinite(opts[name]) && opts[name] > 0)) {
      throw new CorpusError('invalid-options', `Corpus option "${name}" must be a positive number of bytes; got ${opts[name]}.`);
    }
  }
  checkValidationFraction(opts.validationFraction);
  return opts;
}

function checkValidationFraction(fraction: number): void {
  if (!(Number.isFinite(fraction) && fraction >= 0 && fraction < 1)) {
    throw new CorpusError(
      'invalid-options',
      `The validation fraction must be at least 0 and below 1 (e.g. 0.05 for 5 %); got ${fraction}.`,
    );
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// Splitting

function assembleCorpus(
  root: string,
  files: CorpusFile[],
  skipped: SkippedPath[],
  skippedByReason: Record<SkipReason, number>,
  validationFraction: number,
): Corpus {
  const totalChars = files.reduce((sum, f) => sum + f.chars, 0);
  const base = { root, files, totalChars, skipped, skippedByReason };
  if (validationFraction === 0) {
    return {
      ...base,
      trainFiles: files.slice(),
      validationFiles: [],
      trainText: joinFiles(files),
      validationText: '',
      splitNote: 'No validation text: the validation fraction is 0.',
    };
  }
  if (files.length === 1) return { ...base, ...splitOneFile(files[0], validationFraction) };

  const heldOut = chooseHeldOutFiles(files, validationFraction);
  const trainFiles = files.filter((f) => !heldOut.has(f.path));
  const validationFiles = files.filter((f) => heldOut.has(f.path));
  return { ...base, trainFiles, validationFiles, trainText: joinFiles(trainFiles), validationText: joinFiles(validationFiles) };
}

/** Paths of the files held out: the smallest stable hashes among files long enough to matter. */
function chooseHeldOutFiles(files: readonly CorpusFile[], validationFraction: number): Set<string> {
  const count = Math.min(files.length - 1, Math.max(1, Math.round(validationFraction * files.length)));
  const longEnough = files.filter((f) => f.chars >= MIN_HELD_OUT_CHARS);
  const eligible = longEnough.length >= 2 ? longEnough : files;
  const ranked = eligible
    .map((f) => ({ path: f.path, hash: stablePathHash(f.path) }))
    .sort((a, b) => a.hash - b.hash || compareCodeUnits(a.path, b.path));
  return new Set(ranked.slice(0, Math.min(count, eligible.length)).map((r) => r.path));
}

/** Hold out the last `fraction` of the text, from the start of a line. */
function splitOneFile(
  file: CorpusFile,
  fraction: number,
): Pick<Corpus, 'trainFiles' | 'validationFiles' | 'trainText' | 'validationText' | 'splitNote'> {
  const text = file.text;
  const idealCut = Math.floor(text.length * (1 - fraction));
  const idealTail = text.length - idealCut;
  // The line start nearest the ideal cut, unless that makes the held-out part under half or over
  // twice the ideal (e.g. a file that is one long line): then cut between code points.
  const before = text.lastIndexOf('\n', idealCut - 1) + 1;
  const afterBreak = text.indexOf('\n', idealCut);
  const after = afterBreak === -1 ? 0 : afterBreak + 1;
  const lineStarts = [before, after].filter((c) => {
    const tail = text.length - c;
    return c > 0 && c < text.length && tail >= idealTail / 2 && tail <= idealTail * 2;
  });
  let cut: number;
  let atLineBoundary: boolean;
  if (lineStarts.length > 0) {
    cut = lineStarts.reduce((best, c) => (Math.abs(c - idealCut) < Math.abs(best - idealCut) ? c : best));
    atLineBoundary = true;
  } else {
    cut = Math.min(Math.max(idealCut, 1), text.length - 1);
    if (cut > 0 && isLowSurrogate(text.charCodeAt(cut))) cut--;
    atLineBoundary = false;
  }
  const head = text.slice(0, cut);
  const tail = text.slice(cut);
  if (head.length === 0 || tail.length === 0) {
    return {
      trainFiles: [file],
      validationFiles: [],
      trainText: joinFiles([file]),
      validationText: '',
      splitNote: `Only one file (${file.path}), too short to hold any of it out: there is no validation text.`,
    };
  }
  const trainPart: CorpusFile = { path: file.path, text: head, chars: countCodePoints(head) };
  const validationPart: CorpusFile = { path: file.path, text: tail, chars: countCodePoints(tail) };
  const percent = Math.round((validationPart.chars / file.chars) * 1000) / 10;
  return {
    trainFiles: [trainPart],
    validationFiles: [validationPart],
    trainText: joinFiles([trainPart]),
    validationText: joinFiles([validationPart]),
    splitNote:
      `Only one file (${file.path}): its last ${formatCount(validationPart.chars)} characters (${percent} %) ` +
      `are held out for validation, cut ${atLineBoundary ? 'at a line boundary' : 'inside a line (no line break near the cut)'}.`,
  };
}

/** The text of files one after another, each ending with a line break. */
export function joinFiles(files: readonly CorpusFile[]): string {
  const parts: string[] = [];
  for (const f of files) {
    parts.push(f.text);
    if (!f.text.endsWith('\n')) parts.push('\n');
  }
  return parts.join('');
}

/** FNV-1a over the UTF-16 code units of the path, then a murmur3 finaliser for spread. */
function stablePathHash(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function countByReason(skipped: readonly SkippedPath[]): Record<SkipReason, number> {
  const counts = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;
  for (const s of skipped) counts[s.reason]++;
  return counts;
}

function describeNothingUsable(root: string, skipped: readonly SkippedPath[]): string {
  const skippedFiles = skipped.filter((s) => !s.path.endsWith('/'));
  const skippedFolders = skipped.filter((s) => s.path.endsWith('/'));
  let message = `No text files to train on in ${root}: `;
  if (skippedFiles.length === 0) {
    message += 'no files looked at';
  } else {
    message +=
      `${plural(skippedFiles.length, 'file')} looked at, ${formatCount(skippedFiles.length)} skipped ` +
      `(${formatReasonCounts(countByReason(skippedFiles), ': ')})`;
  }
  if (skippedFolders.length > 0) {
    message += `; also skipped ${plural(skippedFolders.length, 'folder')} (${formatReasonCounts(countByReason(skippedFolders), ': ')})`;
  }
  message += '.';
  const fileReasons = countByReason(skippedFiles);
  if (fileReasons['too-large'] > 0) {
    message += ' Raise the per-file size limit to use the large files.';
  } else if (fileReasons.excluded > 0 || skippedFiles.length === 0) {
    message += ' Check the include/exclude globs, or point at a folder with source or text files.';
  }
  return message;
}

function formatReasonCounts(byReason: Record<SkipReason, number>, separator: string): string {
  return SKIP_REASONS.filter((r) => byReason[r] > 0)
    .map((r) => `${r}${separator}${formatCount(byReason[r])}`)
    .join(', ');
}

function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CorpusError('aborted', 'Reading the corpus was cancelled.');
}

/**
 * The folders or files of the corpus a run was trained on, from the `root` its run and checkpoints
 * record (mergeCorpora joins the roots of a multi-root workspace with ', '). A CorpusError
 * ('not-found') when any of them is gone.
 */
export function recordedCorpusRoots(root: string): string[] {
  const roots = existsSync(root) ? [root] : root.split(', ');
  const missing = roots.filter((r) => !existsSync(r));
  if (missing.length > 0) throw new CorpusError('not-found', `The corpus the run was trained on (${missing.join(', ')}) is not there any more.`);
  return roots;
}

/** Read again the corpus a run was trained on (see recordedCorpusRoots). */
export async function readRecordedCorpus(root: string, opts: Partial<CorpusOptions> = {}): Promise<Corpus> {
  return mergeCorpora(await Promise.all(recordedCorpusRoots(root).map((r) => readCorpus(r, opts))));
}

/**
 * One corpus from several (the folders of a multi-root workspace). Each keeps its own split; paths
 * are prefixed with the name of the root they came from.
 */
export function mergeCorpora(corpora: readonly Corpus[]): Corpus {
  if (corpora.length === 0) throw new CorpusError('empty', 'No folders were given to train on.');
  if (corpora.length === 1) return corpora[0];
  const prefix = (c: Corpus, f: CorpusFile): CorpusFile => ({ ...f, path: `${nodePath.basename(c.root)}/${f.path}` });
  const files = corpora.flatMap((c) => c.files.map((f) => prefix(c, f)));
  const trainFiles = corpora.flatMap((c) => c.trainFiles.map((f) => prefix(c, f)));
  const validationFiles = corpora.flatMap((c) => c.validationFiles.map((f) => prefix(c, f)));
  const skipped = corpora.flatMap((c) => c.skipped.map((s) => ({ ...s, path: `${nodePath.basename(c.root)}/${s.path}` })));
  const notes = corpora.filter((c) => c.splitNote).map((c) => `${nodePath.basename(c.root)}: ${c.splitNote}`);
  return {
    root: corpora.map((c) => c.root).join(', '),
    files,
    trainFiles,
    validationFiles,
    trainText: corpora.map((c) => c.trainText).join(''),
    validationText: corpora.map((c) => c.validationText).join(''),
    totalChars: corpora.reduce((s, c) => s + c.totalChars, 0),
    skipped,
    skippedByReason: countByReason(skipped),
    ...(notes.length ? { splitNote: notes.join('; ') } : {}),
  };
}