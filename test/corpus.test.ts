/**
 * Tests of the corpus reader (src/engine/data/corpus.ts, corpusFiles.ts): which files are read and
 * why others are skipped, text normalisation, deterministic order, the validation split and the
 * error messages.
 * Every fixture is a small folder made in a temporary directory.
 */

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorpusError, corpusFromText, describeCorpus, readCorpus, type Corpus } from '../src/engine/data/corpus';

const temporaryFolders: string[] = [];
after(() => {
  for (const folder of temporaryFolders) fs.rmSync(folder, { recursive: true, force: true });
});

/** A fresh temporary folder holding `files` (relative path → content), removed after the tests. */
function makeTree(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-'));
  temporaryFolders.push(root);
  for (const [relative, content] of Object.entries(files)) addFile(root, relative, content);
  return root;
}

function addFile(root: string, relative: string, content: string | Buffer): void {
  const absolute = path.join(root, relative);
  fs.mkdirSync(path.dirname(absolute), { recursive: true });
  fs.writeFileSync(absolute, content);
}

const paths = (files: { path: string }[]) => files.map((f) => f.path);
const skippedAs = (c: Corpus) => c.skipped.map((s) => `${s.path}:${s.reason}`);

test('include and exclude globs pick the files; name globs match at any depth, path globs the relative path', async () => {
  const root = makeTree({
    'a.py': 'print(1)\n',
    'b.ts': 'let b = 1;\n',
    'notes.xyz': 'xyz\n',
    'docs/guide.md': '# Guide\n',
    'gen/out.py': 'x = 1\n',
    'src/deep/c.ts': 'let c = 1;\n',
    'lib/READ.ME': 'hello\n',
  });
  const byDefault = await readCorpus(root);
  assert.deepEqual(paths(byDefault.files), ['a.py', 'b.ts', 'docs/guide.md', 'gen/out.py', 'src/deep/c.ts']);
  assert.deepEqual(skippedAs(byDefault), ['lib/READ.ME:excluded', 'notes.xyz:excluded']);

  const excluded = await readCorpus(root, { exclude: ['gen', '*.md'] });
  assert.deepEqual(paths(excluded.files), ['a.py', 'b.ts', 'src/deep/c.ts']);
  assert.deepEqual(skippedAs(excluded), ['docs/guide.md:excluded', 'gen/:excluded', 'lib/READ.ME:excluded', 'notes.xyz:excluded']);

  const onlyXyz = await readCorpus(root, { include: ['*.XYZ'] }); // globs ignore letter case
  assert.deepEqual(paths(onlyXyz.files), ['notes.xyz']);

  const pathGlob = await readCorpus(root, { include: ['src/**/*.ts'] });
  assert.deepEqual(paths(pathGlob.files), ['src/deep/c.ts']);
  assert.equal(pathGlob.skippedByReason.excluded, 6);
});

test('.git, node_modules, build output, minified and lock files are always skipped', async () => {
  const root = makeTree({
    'main.js': 'console.log(1);\n',
    'app.min.js': 'console.log(1)',
    'package-lock.json': '{}\n',
    '.git/config': '[core]\n',
    '.git/hooks/pre-commit.sh': 'exit 0\n',
    'node_modules/dep/index.js': 'module.exports = 1;\n',
    'pkg/node_modules/dep/index.js': 'module.exports = 1;\n',
    'build/gen.c': 'int x;\n',
    'dist/bundle.js': 'x\n',
    'out/a.js': 'x\n',
    'target/b.rs': 'fn x(){}\n',
    'py/__pycache__/m.py': 'x\n',
    '.venv/lib/site.py': 'x\n',
    'coverage/lcov.json': '{}\n',
  });
  const c = await readCorpus(root);
  assert.deepEqual(paths(c.files), ['main.js']);
  assert.deepEqual(skippedAs(c), [
    '.git/:excluded',
    '.venv/:excluded',
    'app.min.js:excluded',
    'build/:excluded',
    'coverage/:excluded',
    'dist/:excluded',
    'node_modules/:excluded',
    'out/:excluded',
    'package-lock.json:excluded',
    'pkg/node_modules/:excluded',
    'py/__pycache__/:excluded',
    'target/:excluded',
  ]);
});

test('.gitignore files are honoured, nested ones relative to their own folder and taking precedence', async () => {
  const root = makeTree({
    '.gitignore': '*.log\nsecret/\n',
    'secret/key.txt': 'k\n',
    'app.log': 'log\n',
    'local.py': 'root local\n',
    'anchored.py': 'root anchored\n',
    'sub/.gitignore': 'local.py\n!keep.log\n/anchored.py\n',
    'sub/local.py': 'sub local\n',
    'sub/keep.log': 'kept\n',
    'sub/drop.log': 'dropped\n',
    'sub/anchored.py': 'sub anchored\n',
    'sub/deep/anchored.py': 'deep anchored\n',
    'sub/deep/local.py': 'deep local\n',
  });
  const include = ['*.py', '*.log', '*.txt'];
  const c = await readCorpus(root, { include });
  assert.deepEqual(paths(c.files), ['anchored.py', 'local.py', 'sub/deep/anchored.py', 'sub/keep.log']);
  assert.deepEqual(skippedAs(c), [
    '.gitignore:excluded',
    'app.log:gitignored',
    'secret/:gitignored',
    'sub/.gitignore:excluded',
    'sub/anchored.py:gitignored',
    'sub/deep/local.py:gitignored',
    'sub/drop.log:gitignored',
    'sub/local.py:gitignored',
  ]);

  const all = await readCorpus(root, { include, respectGitignore: false });
  assert.equal(all.files.length, 10);
  assert.equal(all.skippedByReason.gitignored, 0);
});

test('binary (NUL byte), invalid UTF-8, empty and symlinked files are skipped with their reason', async () => {
  const outside = makeTree({ 'elsewhere.txt': 'outside the root\n' });
  const root = makeTree({
    'good.txt': 'café 中 😀\n',
    'nul.c': Buffer.from([0x69, 0x6e, 0x74, 0x00, 0x0a]),
    'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), // "café" in Latin-1
    'empty.md': '',
  });
  fs.symlinkSync(path.join(outside, 'elsewhere.txt'), path.join(root, 'link.txt'));
  fs.symlinkSync(outside, path.join(root, 'linked-folder'));
  const c = await readCorpus(root);
  assert.deepEqual(paths(c.files), ['good.txt']);
  assert.equal(c.files[0].text, 'café 中 😀\n');
  assert.equal(c.files[0].chars, 9);
  assert.equal(c.totalChars, 9);
  assert.deepEqual(skippedAs(c), [
    'empty.md:empty',
    'latin1.txt:invalid-utf8',
    'link.txt:symlink',
    'linked-folder:symlink',
    'nul.c:binary',
  ]);
  assert.deepEqual(c.skippedByReason, {
    excluded: 0,
    gitignored: 0,
    binary: 1,
    'invalid-utf8': 1,
    'too-large': 0,
    'total-cap': 0,
    symlink: 2,
    unreadable: 0,
    empty: 1,
  });
});

test('a FIFO is never opened: it is skipped as unreadable (not a regular file)', { skip: process.platform === 'win32' }, async () => {
  const root = makeTree({ 'ok.txt': 'fine\n' });
  execFileSync('mkfifo', [path.join(root, 'pipe.txt')]);
  const c = await readCorpus(root);
  assert.deepEqual(paths(c.files), ['ok.txt']);
  assert.deepEqual(c.skipped, [{ path: 'pipe.txt', reason: 'unreadable', detail: 'not a regular file' }]);
});

test('unreadable files are skipped with reason and error code', { skip: process.getuid?.() === 0 && 'root can read anything' }, async () => {
  const root = makeTree({ 'ok.txt': 'fine\n', 'locked.txt': 'secret\n' });
  fs.chmodSync(path.join(root, 'locked.txt'), 0o000);
  const c = await readCorpus(root);
  assert.deepEqual(paths(c.files), ['ok.txt']);
  assert.deepEqual(c.skipped, [{ path: 'locked.txt', reason: 'unreadable', detail: 'EACCES' }]);
});

test('files over maxFileBytes are skipped; reading stops at maxTotalBytes, in path order', async () => {
  const root = makeTree({
    'a.txt': '123456789\n', // 10 bytes
    'b.txt': '12345678901\n', // 12 bytes
    'c.txt': Buffer.from([0x00, 0x01]), // binary: not counted towards the total
    'd.txt': '123456789\n',
    'e.txt': '1\n',
    'f.txt': '123\n',
  });
  const large = await readCorpus(root, { maxFileBytes: 10 });
  assert.deepEqual(paths(large.files), ['a.txt', 'd.txt', 'e.txt', 'f.txt']);
  assert.deepEqual(skippedAs(large), ['b.txt:too-large', 'c.txt:binary']);

  const capped = await readCorpus(root, { maxTotalBytes: 25 });
  assert.deepEqual(paths(capped.files), ['a.txt', 'b.txt']);
  // d.txt would make 32 bytes: it and everything after it are skipped, even the small e.txt.
  assert.deepEqual(skippedAs(capped), ['c.txt:binary', 'd.txt:total-cap', 'e.txt:total-cap', 'f.txt:total-cap']);
});

test('CRLF becomes LF and a UTF-8 BOM is dropped', async () => {
  const root = makeTree({
    'win.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('one\r\ntwo\r\n', 'utf8')]),
    'mixed.txt': 'a\r\nb\nc\r\n',
  });
  const c = await readCorpus(root, { validationFraction: 0 });
  assert.deepEqual(
    c.files.map((f) => [f.path, f.text, f.chars]),
    [
      ['mixed.txt', 'a\nb\nc\n', 6],
      ['win.txt', 'one\ntwo\n', 8],
    ],
  );
  assert.equal(c.trainText, 'a\nb\nc\none\ntwo\n');
});

test('files come in code-unit order of their POSIX relative path, whatever the creation order', async () => {
  const root = makeTree({
    'é.txt': 'e\n',
    'a/b.txt': 'ab\n',
    'a.txt': 'a\n',
    'B.txt': 'B\n',
    'a-b.txt': 'a-b\n',
    '_x.txt': 'x\n',
    'z/y/x.txt': 'zyx\n',
  });
  const expected = ['B.txt', '_x.txt', 'a-b.txt', 'a.txt', 'a/b.txt', 'z/y/x.txt', 'é.txt'];
  const first = await readCorpus(root, { validationFraction: 0 });
  const second = await readCorpus(root, { validationFraction: 0 });
  assert.deepEqual(paths(first.files), expected);
  assert.deepEqual(paths(second.files), expected);
  assert.equal(first.trainText, 'B\nx\na-b\na\nab\nzyx\ne\n');
});

test('trainText and validationText add a newline after a file that lacks one', async () => {
  const root = makeTree({ 'a.txt': 'no newline', 'b.txt': 'has one\n' });
  const c = await readCorpus(root, { validationFraction: 0 });
  assert.equal(c.trainText, 'no newline\nhas one\n');
});

test('a folder with nothing usable is an error that counts what was looked at and why it was skipped', async () => {
  const root = makeTree({
    'a.bin.txt': Buffer.from([0x00]),
    'b.txt': Buffer.from([0x41, 0x00]),
    'big.txt': 'x'.repeat(100),
    'node_modules/x.js': 'x\n',
  });
  await assert.rejects(readCorpus(root, { maxFileBytes: 50 }), (err: unknown) => {
    assert.ok(err instanceof CorpusError);
    assert.equal(err.code, 'empty');
    assert.equal(
      err.message,
      `No text files to train on in ${root}: 3 files looked at, 3 skipped (binary: 2, too-large: 1); ` +
        'also skipped 1 folder (excluded: 1). Raise the per-file size limit to use the large files.',
    );
    return true;
  });

  const empty = makeTree({});
  await assert.rejects(readCorpus(empty), {
    name: 'CorpusError',
    code: 'empty',
    message: `No text files to train on in ${empty}: no files looked at. Check the include/exclude globs, or point at a folder with source or text files.`,
  });
});

test('a path that does not exist is a not-found error; an aborted read is an aborted error', async () => {
  const missing = path.join(os.tmpdir(), 'lstm-lab-does-not-exist-3141592');
  await assert.rejects(readCorpus(missing), {
    code: 'not-found',
    message: `No such file or folder: ${missing}. Check the path of the corpus.`,
  });
  const root = makeTree({ 'a.txt': 'a\n' });
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(readCorpus(root, {}, undefined, controller.signal), { code: 'aborted' });
});

test('progress is reported per file examined', async () => {
  const root = makeTree({ 'a.txt': 'abc\n', 'b.txt': 'de\n', 'c.png': Buffer.from([0x89, 0x50]) });
  const reports: { filesRead: number; bytesRead: number }[] = [];
  await readCorpus(root, {}, (p) => reports.push(p));
  assert.deepEqual(reports, [
    { filesRead: 1, bytesRead: 4 },
    { filesRead: 2, bytesRead: 7 },
  ]);
});

/** 40 files of 80 characters each: f00.txt … f39.txt. */
function fortyFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `${'line of file ' + i}\n`.padEnd(80, '.');
  return files;
}

test('validation holds out whole files chosen by a stable hash of their path', async () => {
  const root = makeTree(fortyFiles());
  const c = await readCorpus(root);
  assert.deepEqual(paths(c.validationFiles), ['f04.txt', 'f20.txt']); // round(0.05 × 40) = 2
  assert.equal(c.trainFiles.length, 38);
  assert.equal(paths(c.trainFiles).includes('f04.txt'), false);
  assert.equal(c.splitNote, undefined);
  const byPath = new Map(c.files.map((f) => [f.path, f.text]));
  assert.equal(c.validationText, byPath.get('f04.txt')! + '\n' + byPath.get('f20.txt')! + '\n');
  assert.equal(c.trainText.length + c.validationText.length, 40 * 81);

  // Adding files leaves the others where they were.
  addFile(root, 'g.txt', 'another file that is long enough to be held out, if its hash were small.\n');
  const withOneMore = await readCorpus(root);
  assert.deepEqual(paths(withOneMore.validationFiles), ['f04.txt', 'f20.txt']);
  addFile(root, 'new/h.txt', 'yet another file that is long enough to be held out, if chosen by hash.\n');
  const withTwoMore = await readCorpus(root);
  assert.deepEqual(paths(withTwoMore.validationFiles), ['f04.txt', 'f20.txt']);
  assert.deepEqual(paths(withTwoMore.trainFiles).slice(-2), ['g.txt', 'new/h.txt']);

  // A larger fraction keeps the smaller one's choice and adds to it.
  const tenth = await readCorpus(root, { validationFraction: 0.1 });
  assert.deepEqual(paths(tenth.validationFiles), ['f04.txt', 'f13.txt', 'f20.txt', 'f27.txt']);
});

test('two files: one is held out; tiny files are not held out while larger ones exist', async () => {
  const two = await readCorpus(makeTree({ 'a.txt': 'a'.repeat(100), 'b.txt': 'b'.repeat(100) }));
  assert.equal(two.validationFiles.length, 1);
  assert.equal(two.trainFiles.length, 1);

  const files = fortyFiles();
  for (let i = 0; i < 20; i++) files[`tiny${i}.txt`] = `t${i}\n`;
  const c = await readCorpus(makeTree(files));
  assert.equal(c.files.length, 60);
  // round(0.05 × 60) = 3; by hash alone tiny6.txt and tiny2.txt would be among them.
  assert.deepEqual(paths(c.validationFiles), ['f04.txt', 'f13.txt', 'f20.txt']);
});

test('a single file (given directly) holds out the tail of its text from a line boundary', async () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(2, '0')}\n`).join(''); // 8 chars a line
  const root = makeTree({ 'one.txt': lines });
  const file = path.join(root, 'one.txt');
  const c = await readCorpus(file);
  assert.equal(c.root, file);
  assert.deepEqual(paths(c.files), ['one.txt']);
  assert.equal(c.trainText, lines.slice(0, 760));
  assert.equal(c.validationText, 'line 95\nline 96\nline 97\nline 98\nline 99\n');
  assert.equal(c.splitNote, 'Only one file (one.txt): its last 40 characters (5 %) are held out for validation, cut at a line boundary.');

  // The same through a folder holding only that file.
  const viaFolder = await readCorpus(root);
  assert.equal(viaFolder.validationText, c.validationText);

  // The nearest line start: ideal cut at 0.87 × 100 = 87; line starts 80 and 90 → 90.
  const tenLines = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(9, '.') + '\n').join('');
  assert.equal(corpusFromText('t', tenLines, 0.13).validationText, '9........\n');
  // ...unless the held-out part would be under half or over twice the ideal: 0.95 × 82 → 77;
  // the line start at 80 would hold out 2 characters instead of 5, so the cut is inside the line.
  const farBreak = corpusFromText('t', 'x'.repeat(79) + '\n' + 'y\n');
  assert.equal(farBreak.validationText, 'xx\ny\n');
});

test('a single line with no break near the cut is cut inside the line, never inside a surrogate pair', () => {
  const text = 'a'.repeat(18) + '😀' + 'b';
  const c = corpusFromText('emoji', text, 0.1); // ideal cut at floor(21 × 0.9) = 18, code points: 20
  assert.equal(c.trainText, 'a'.repeat(18) + '\n');
  assert.equal(c.validationText, '😀b\n');
  assert.equal(c.splitNote, 'Only one file (emoji): its last 2 characters (10 %) are held out for validation, cut inside a line (no line break near the cut).');
  const inside = corpusFromText('emoji', 'a'.repeat(19) + '😀', 0.05); // ideal cut 19 → kept before the pair
  assert.equal(inside.validationText, '😀\n');
});

test('corpusFromText normalises and refuses empty text; a fraction of 0 holds nothing out', () => {
  const c = corpusFromText('pasted', '\uFEFFab\r\ncd', 0);
  assert.equal(c.root, 'pasted');
  assert.equal(c.trainText, 'ab\ncd\n');
  assert.equal(c.validationText, '');
  assert.equal(c.totalChars, 5);
  assert.equal(c.splitNote, 'No validation text: the validation fraction is 0.');
  assert.throws(() => corpusFromText('nothing', ''), { code: 'empty', message: 'The text "nothing" is empty; there is nothing to train on.' });
  assert.throws(() => corpusFromText('x', 'abc', 1), { code: 'invalid-options' });
  const tooShort = corpusFromText('one char', 'a');
  assert.equal(tooShort.trainText, 'a\n');
  assert.equal(tooShort.validationText, '');
  assert.equal(tooShort.splitNote, 'Only one file (one char), too short to hold any of it out: there is no validation text.');
});

test('describeCorpus summarises files, characters, the split and the skips', async () => {
  const files = fortyFiles();
  files['logo.png'] = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('latin1');
  files['blob.txt'] = '\u0000';
  const root = makeTree(files);
  const c = await readCorpus(root);
  assert.equal(
    describeCorpus(c),
    `40 files, 3,200 characters from ${root}\n` +
      'training: 38 files, 3,040 characters; validation: 2 files, 160 characters\n' +
      'skipped 2: excluded 1, binary 1',
  );
  assert.equal(
    describeCorpus(corpusFromText('t', 'abc\n'.repeat(40))),
    '1 file, 160 characters from t\n' +
      'training: 152 characters; validation: 8 characters\n' +
      'Only one file (t): its last 8 characters (5 %) are held out for validation, cut at a line boundary.',
  );
});

test('invalid options are refused with a clear message', async () => {
  const root = makeTree({ 'a.txt': 'a\n' });
  await assert.rejects(readCorpus(root, { include: [] }), { code: 'invalid-options' });
  await assert.rejects(readCorpus(root, { maxFileBytes: -1 }), {
    code: 'invalid-options',
    message: 'Corpus option "maxFileBytes" must be a positive number of bytes; got -1.',
  });
});
