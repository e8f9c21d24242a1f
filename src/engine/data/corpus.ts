/**
 * The training corpus: the text files of a folder (or one file), read deterministically and split
 * into training and validation text.
 *
 * Walking a folder:
 *   - folders that never hold source worth learning are always skipped (`.git`, `node_modules`,
 *     build output such as `out`, `dist`, `build`, `target`, ...), as are minified files and lock
 *     files (`ALWAYS_EXCLUDED_FILES`);
 *   - `.gitignore` files are honoured, the root one and nested ones, each relative to its own
 *     folder with deeper files taking precedence (as git does), plus `.git/info/exclude` at the
 *     root; `.gitignore` files above the corpus root are not read;
 *   - a file is read when it matches an `include` glob and no `exclude` glob. A glob without '/'
 *     matches the file (or folder) name at any depth (`*.py`, `vendor`); a glob with '/' matches
 *     the path relative to the root (`src/**\/*.ts`, `docs/**`); globs ignore letter case;
 *   - symbolic links are never followed (they could lead out of the root); they are skipped.
 * Reading a file: files over `maxFileBytes` are skipped, as are binary files (a NUL byte) and
 * files that are not valid UTF-8; a UTF-8 byte order mark is dropped and CRLF becomes LF. Files
 * are taken in order of relative path (POSIX separators, UTF-16 code-unit order) until the next
 * one would bring the total past `maxTotalBytes`; it and all later ones are skipped ('total-cap').
 * Files are read concurrently but decided in that order, so the result never depends on timing.
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
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';

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
  /** Globs of files to read (see the file docstring for how globs match). */
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

/** Folder names skipped at any depth: version control, dependencies, build output, caches. */
export const ALWAYS_SKIPPED_FOLDERS: ReadonlySet<string> = new Set([
  '.git', '.hg', '.svn', '.jj', 'node_modules', 'bower_components', 'jspm_packages',
  'out', 'dist', 'build', 'target', 'obj', '.next', '.nuxt', '.svelte-kit', '.output',
  '__pycache__', '.venv', 'venv', '.tox', '.nox', '.mypy_cache', '.pytest_cache', '.ruff_cache',
  '.eggs', 'coverage', '.nyc_output', '.gradle', '.cache', '.parcel-cache', '.turbo', '.terraform',
  '.idea', '.vs', '.lstm-lab',
]);

/** File names skipped at any depth: minified and generated files, lock files. */
export const ALWAYS_EXCLUDED_FILES: readonly string[] = [
  '*.min.js', '*.min.mjs', '*.min.css', '*-min.js', '*.bundle.js', '*.map',
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'Cargo.lock', 'poetry.lock',
  'composer.lock', 'Gemfile.lock', 'go.sum',
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

/** Files read at once. */
const READ_CONCURRENCY = 16;

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
    await walkFolder(root, opts, candidates, skipped, signal);
    candidates.sort((a, b) => compareCodeUnits(a.path, b.path));
  } else {
    throw new CorpusError('unreadable', `${root} is neither a file nor a folder; give a folder or a text file as the corpus.`);
  }

  const files = await readCandidates(candidates, opts, skipped, onProgress, signal);
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

/** Globs without '/' match the name at any depth; globs with '/' match the relative path. Case-insensitive. */
function compileGlobs(globs: readonly string[]): (relativePath: string) => boolean {
  const pmOptions = { dot: true, nocase: true, windows: false };
  const nameGlobs = globs.filter((g) => !g.includes('/'));
  const pathGlobs = globs.filter((g) => g.includes('/')).map((g) => g.replace(/^\.\//, '').replace(/^\//, ''));
  const matchName = nameGlobs.length > 0 ? picomatch(nameGlobs, pmOptions) : () => false;
  const matchPath = pathGlobs.length > 0 ? picomatch(pathGlobs, pmOptions) : () => false;
  return (relativePath) => matchName(nodePath.posix.basename(relativePath)) || matchPath(relativePath);
}

// ---------------------------------------------------------------------------------------------
// Walking a folder

interface Candidate {
  /** Relative, POSIX. */
  path: string;
  absolute: string;
}

/** The rules of one .gitignore, which apply below its folder. */
interface GitignoreRules {
  /** Folder of the .gitignore relative to the root ('' for the root), POSIX. */
  folder: string;
  rules: Ignore;
}

async function walkFolder(
  root: string,
  opts: CorpusOptions,
  candidates: Candidate[],
  skipped: SkippedPath[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const isIncluded = compileGlobs(opts.include);
  const isUserExcluded = compileGlobs(opts.exclude);
  const isAlwaysExcludedFile = compileGlobs(ALWAYS_EXCLUDED_FILES);

  const rootRules: GitignoreRules[] = [];
  if (opts.respectGitignore) {
    const infoExclude = await readTextIfRegularFile(nodePath.join(root, '.git', 'info', 'exclude'));
    if (infoExclude !== undefined) rootRules.push({ folder: '', rules: ignore().add(infoExclude) });
  }

  const visit = async (folderRelative: string, folderAbsolute: string, inherited: GitignoreRules[]) => {
    throwIfAborted(signal);
    let entries;
    try {
      entries = await fs.readdir(folderAbsolute, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: `${folderRelative}/`, reason: 'unreadable', detail: errorCode(err) ?? String(err) });
      return;
    }
    entries.sort((a, b) => compareCodeUnits(a.name, b.name));

    let rules = inherited;
    if (opts.respectGitignore) {
      const gitignoreEntry = entries.find((e) => e.name === '.gitignore' && e.isFile());
      if (gitignoreEntry) {
        const text = await readTextIfRegularFile(nodePath.join(folderAbsolute, '.gitignore'));
        if (text !== undefined) rules = [...inherited, { folder: folderRelative, rules: ignore().add(text) }];
      }
    }

    for (const entry of entries) {
      const relative = folderRelative === '' ? entry.name : `${folderRelative}/${entry.name}`;
      const absolute = nodePath.join(folderAbsolute, entry.name);
      if (entry.isDirectory()) {
        if (ALWAYS_SKIPPED_FOLDERS.has(entry.name)) skipped.push({ path: `${relative}/`, reason: 'excluded' });
        else if (opts.respectGitignore && isGitignored(rules, relative, true)) skipped.push({ path: `${relative}/`, reason: 'gitignored' });
        else if (isUserExcluded(relative)) skipped.push({ path: `${relative}/`, reason: 'excluded' });
        else await visit(relative, absolute, rules);
        continue;
      }
      if (opts.respectGitignore && isGitignored(rules, relative, false)) skipped.push({ path: relative, reason: 'gitignored' });
      else if (isAlwaysExcludedFile(relative) || isUserExcluded(relative)) skipped.push({ path: relative, reason: 'excluded' });
      else if (entry.isSymbolicLink()) skipped.push({ path: relative, reason: 'symlink' });
      else if (!entry.isFile()) skipped.push({ path: relative, reason: 'unreadable', detail: 'not a regular file' });
      else if (!isIncluded(relative)) skipped.push({ path: relative, reason: 'excluded' });
      else candidates.push({ path: relative, absolute });
    }
  };
  await visit('', root, rootRules);
}

/** Git's precedence: the deepest .gitignore with a rule matching the path decides. */
function isGitignored(rules: readonly GitignoreRules[], relative: string, isFolder: boolean): boolean {
  for (let i = rules.length - 1; i >= 0; i--) {
    const { folder, rules: ig } = rules[i];
    const below = folder === '' ? relative : relative.slice(folder.length + 1);
    const result = ig.test(isFolder ? `${below}/` : below);
    if (result.ignored) return true;
    if (result.unignored) return false;
  }
  return false;
}

async function readTextIfRegularFile(absolute: string): Promise<string | undefined> {
  try {
    const stat = await fs.lstat(absolute);
    if (!stat.isFile()) return undefined;
    return await fs.readFile(absolute, 'utf8');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading files

type ReadOutcome =
  | { kind: 'text'; text: string; bytes: number }
  | { kind: 'skipped'; reason: SkipReason; bytes: number; detail?: string };

async function readCandidates(
  candidates: readonly Candidate[],
  opts: CorpusOptions,
  skipped: SkippedPath[],
  onProgress: ((p: { filesRead: number; bytesRead: number }) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<CorpusFile[]> {
  const files: CorpusFile[] = [];
  const pending = new Map<number, Promise<ReadOutcome>>();
  let nextToStart = 0;
  let capReached = false;
  let totalBytes = 0;
  let bytesRead = 0;

  for (let i = 0; i < candidates.length; i++) {
    throwIfAborted(signal);
    const candidate = candidates[i];
    if (capReached) {
      skipped.push({ path: candidate.path, reason: 'total-cap' });
      continue;
    }
    while (nextToStart < candidates.length && pending.size < READ_CONCURRENCY) {
      pending.set(nextToStart, readCandidate(candidates[nextToStart], opts.maxFileBytes));
      nextToStart++;
    }
    const outcome = await pending.get(i)!;
    pending.delete(i);
    throwIfAborted(signal);
    bytesRead += outcome.bytes;
    if (outcome.kind === 'skipped') {
      skipped.push({ path: candidate.path, reason: outcome.reason, ...(outcome.detail ? { detail: outcome.detail } : {}) });
    } else if (totalBytes + outcome.bytes > opts.maxTotalBytes) {
      capReached = true;
      skipped.push({ path: candidate.path, reason: 'total-cap' });
    } else {
      totalBytes += outcome.bytes;
      files.push({ path: candidate.path, text: outcome.text, chars: countCodePoints(outcome.text) });
    }
    onProgress?.({ filesRead: i + 1, bytesRead });
  }
  return files; // reads still pending after the cap never reject, and their results are dropped
}

/** Never rejects: every failure is a skip reason. */
async function readCandidate(candidate: Candidate, maxFileBytes: number): Promise<ReadOutcome> {
  let bytes: Buffer;
  try {
    const stat = await fs.stat(candidate.absolute);
    if (!stat.isFile()) return { kind: 'skipped', reason: 'unreadable', bytes: 0, detail: 'not a regular file' };
    if (stat.size > maxFileBytes) return { kind: 'skipped', reason: 'too-large', bytes: 0 };
    bytes = await fs.readFile(candidate.absolute);
  } catch (err) {
    return { kind: 'skipped', reason: 'unreadable', bytes: 0, detail: errorCode(err) ?? String(err) };
  }
  if (bytes.length > maxFileBytes) return { kind: 'skipped', reason: 'too-large', bytes: bytes.length }; // grew while we looked
  if (bytes.indexOf(0) !== -1) return { kind: 'skipped', reason: 'binary', bytes: bytes.length };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); // also drops a leading BOM
  } catch {
    return { kind: 'skipped', reason: 'invalid-utf8', bytes: bytes.length };
  }
  text = normaliseText(text);
  if (text.length === 0) return { kind: 'skipped', reason: 'empty', bytes: bytes.length };
  return { kind: 'text', text, bytes: bytes.length };
}

function normaliseText(text: string): string {
  return text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
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

function joinFiles(files: readonly CorpusFile[]): string {
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

function countCodePoints(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      surrogatePairs++;
      i++;
    }
  }
  return text.length - surrogatePairs;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
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
