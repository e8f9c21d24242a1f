/**
 * Finding and reading the files of a corpus folder (corpus.ts assembles and splits them).
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
 */

import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';
import { countCodePoints } from './codePoints';
import type { CorpusFile, CorpusOptions, SkippedPath, SkipReason } from './corpus';

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

/** Files read at once. */
const READ_CONCURRENCY = 16;

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

/** A file to read: its path relative to the corpus root, and where it is. */
export interface Candidate {
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

/**
 * The files of the folder `root` worth reading, into `candidates` (in walking order); everything
 * passed over, with its reason, into `skipped`. `checkAborted` throws when the caller gave up.
 */
export async function walkFolder(
  root: string,
  opts: CorpusOptions,
  candidates: Candidate[],
  skipped: SkippedPath[],
  checkAborted: () => void,
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
    checkAborted();
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

/**
 * Read the candidates in order (READ_CONCURRENCY at a time) into corpus files, stopping at the
 * total cap; what is not used goes into `skipped`. `onProgress` after each file examined.
 */
export async function readCandidates(
  candidates: readonly Candidate[],
  opts: CorpusOptions,
  skipped: SkippedPath[],
  onProgress: ((p: { filesRead: number; bytesRead: number }) => void) | undefined,
  checkAborted: () => void,
): Promise<CorpusFile[]> {
  const files: CorpusFile[] = [];
  const pending = new Map<number, Promise<ReadOutcome>>();
  let nextToStart = 0;
  let capReached = false;
  let totalBytes = 0;
  let bytesRead = 0;

  for (let i = 0; i < candidates.length; i++) {
    checkAborted();
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
    checkAborted();
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

/** CRLF line ends become LF. */
export function normaliseText(text: string): string {
  return text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
}

/** The system error code of a failed file-system call (e.g. 'EACCES'), if it has one. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/** Order of UTF-16 code units: the order of relative paths (and of folder entries). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
