/**
 * Tests for concept labels: exact per-code-point values from tree-sitter-c and from the lexer on
 * small C fixtures (escaped quotes, char literals, comments holding quotes, nested if conditions,
 * tabs, non-ASCII and an emoji inside a string, syntax errors), agreement of the two labellers,
 * the fallback, other languages' lexing, and regular-expression concepts.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { codePointIndex, labelConcepts, regexConcept, type Concept, type ConceptLabels } from '../src/analysis/conceptLabels';

/** Code-point position of the `occurrence`-th (0-based) match of `needle` in `text`, plus `offset` code points. */
function pos(text: string, needle: string, offset = 0, occurrence = 0): number {
  let at = -1;
  for (let k = 0; k <= occurrence; k++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `fixture lacks occurrence ${k} of ${JSON.stringify(needle)}`);
  }
  return Array.from(text.slice(0, at)).length + offset;
}

function track(labels: ConceptLabels, id: string): Float32Array {
  const concept = labels.concepts.find((c) => c.id === id);
  assert.ok(concept, `no concept ${id}`);
  return concept.values;
}

/** The track as a string of digits over code points [from, to) (values > 9 shown as '+'). */
function slice(values: Float32Array, from: number, to: number): string {
  return Array.from(values.subarray(from, to), (v) => (v > 9 ? '+' : String(v))).join('');
}

const grammarWasmPath = path.join(path.dirname(require.resolve('tree-sitter-c/package.json')), 'tree-sitter-c.wasm');
const treeSitterWasmPath = require.resolve('web-tree-sitter/tree-sitter.wasm');

// A well-formed C file: every construct the concepts care about, with the awkward cases.
const FIXTURE = [
  '#include <stdio.h>', //                                                       0
  '/* header: "not a string" and it\'s fine */', //                              1
  'static const char *msg = "say \\"hi\\" (ok)"; // trailing "quote" (', //     2
  'int f(int x, char c) {', //                                                    3
  '\tchar q = \'\\\'\';', //                                                      4  tab indent, char literal '\''
  '  \t  const char *u = "é😀x";', //                                            5  spaces + tab + spaces
  '\tif (g(x, \'(\') && (x > 1 || h(c))) {', //                                   6
  '\t\tif (x) return 1;', //                                                      7
  '\t} else if (c == \'"\') { return 2; }', //                                    8
  '\treturn 0;', //                                                               9
  '}', //                                                                        10
  '',
].join('\n');

test('tree-sitter-c loads from explicit wasm paths and labels every code point', async () => {
  const labels = await labelConcepts(FIXTURE, 'c', { grammarWasmPath, treeSitterWasmPath });
  assert.equal(labels.labeller, 'tree-sitter-c', labels.labellerNote);
  const n = Array.from(FIXTURE).length;
  assert.equal(labels.codePoints, n);
  assert.ok(n < FIXTURE.length, 'the emoji takes two UTF-16 units but one code point');
  for (const c of labels.concepts) assert.equal(c.values.length, n, c.id);
  assert.deepEqual(
    labels.concepts.map((c) => c.id),
    ['in-string', 'in-comment', 'in-if-condition', 'in-preprocessor', 'bracket-depth', 'brace-depth', 'indent-level', 'column', 'line-end-distance'],
  );
});

test('in-string: opening quote through the last character before the closing quote', async () => {
  const labels = await labelConcepts(FIXTURE, 'c');
  const s = track(labels, 'in-string');
  // "say \"hi\" (ok)";  — opening quote 1, escaped quotes 1, closing quote 0, ';' 0
  const open = pos(FIXTURE, '"say');
  const close = pos(FIXTURE, ')"; //', 1);
  assert.equal(slice(s, open - 1, close + 2), '0' + '1'.repeat(close - open) + '00');
  assert.equal(s[pos(FIXTURE, '\\"hi')], 1);
  assert.equal(s[pos(FIXTURE, ')"; //') + 1], 0, 'closing quote');
  // Char literal '\'' : 1 1 1 0
  const q = pos(FIXTURE, "'\\''");
  assert.equal(slice(s, q, q + 4), '1110');
  // Code-point alignment: "é😀x" — é, the emoji and x are one position each.
  const u = pos(FIXTURE, '"é');
  assert.equal(slice(s, u - 1, u + 6), '0111100');
  assert.equal(Array.from(FIXTURE)[u + 2], '😀');
  // Quotes inside comments are not strings; <stdio.h> is not a string.
  assert.equal(s[pos(FIXTURE, 'not a string')], 0);
  assert.equal(s[pos(FIXTURE, '"quote"', 1)], 0);
  assert.equal(s[pos(FIXTURE, 'stdio')], 0);
  // '(' and '"' char literals inside conditions.
  assert.equal(slice(s, pos(FIXTURE, "'('"), pos(FIXTURE, "'('") + 3), '110');
  assert.equal(slice(s, pos(FIXTURE, `'"'`), pos(FIXTURE, `'"'`) + 3), '110');
});

test('in-comment: block comments up to the final "/", line comments up to the newline', async () => {
  const labels = await labelConcepts(FIXTURE, 'c');
  const c = track(labels, 'in-comment');
  const start = pos(FIXTURE, '/* header');
  const end = pos(FIXTURE, '*/', 0, 0);
  assert.equal(c[start - 1], 0, 'newline before the comment');
  assert.equal(c[start], 1);
  assert.equal(c[end], 1, "'*' of the closing */");
  assert.equal(c[end + 1], 0, "'/' of the closing */");
  const line = pos(FIXTURE, '// trailing');
  const lineEnd = pos(FIXTURE, '(\nint f');
  assert.equal(slice(c, line - 1, lineEnd + 2), '0' + '1'.repeat(lineEnd + 1 - line) + '0');
});

test('in-if-condition: strictly inside the parens, nested calls and parens included', async () => {
  const labels = await labelConcepts(FIXTURE, 'c');
  const k = track(labels, 'in-if-condition');
  const open = pos(FIXTURE, '(g(x');
  const close = pos(FIXTURE, ')) {', 1);
  assert.equal(k[open - 1], 0);
  assert.equal(k[open], 0, 'opening paren');
  assert.equal(slice(k, open + 1, close), '1'.repeat(close - open - 1));
  assert.equal(k[close], 0, 'closing paren');
  assert.equal(k[close + 2], 0, 'brace after the condition');
  const inner = pos(FIXTURE, 'if (x)');
  assert.equal(slice(k, inner, inner + 7), '0000100');
  const elseIf = pos(FIXTURE, "(c == '\"')");
  assert.equal(slice(k, elseIf, elseIf + 11), '01111111100');
  assert.equal(k[pos(FIXTURE, 'f(int x')], 0, 'function parameters are not a condition');
});

test('bracket-depth and brace-depth count after reading, ignoring strings and comments', async () => {
  const labels = await labelConcepts(FIXTURE, 'c');
  const b = track(labels, 'bracket-depth');
  const br = track(labels, 'brace-depth');
  // Comment line 1 and the string "(ok)" / trailing comment "(" leave depth at 0.
  assert.equal(b[pos(FIXTURE, 'int f(') - 1], 0);
  const fOpen = pos(FIXTURE, 'f(int', 1);
  assert.equal(b[fOpen], 1, 'an opening paren counts itself');
  assert.equal(b[pos(FIXTURE, ') {')], 0, 'a closing paren no longer counts');
  assert.equal(b[pos(FIXTURE, ') {') + 2], 1, 'opening brace');
  assert.equal(br[pos(FIXTURE, ') {') + 2], 1);
  // In `if (g(x, '(') && (x > 1 || h(c)))`: '(' char literal ignored.
  const g = pos(FIXTURE, 'g(x');
  assert.equal(slice(b, g - 1, g + 7), '22333333'); // '(' 2, 'g' 2, '(' 3, x , space ' ( ' — inside literal no change
  assert.equal(b[pos(FIXTURE, 'h(c)') + 2], 4);
  assert.equal(b[pos(FIXTURE, 'h(c)') + 6], 1, 'after the condition closes: back to the function body');
  assert.equal(br[pos(FIXTURE, 'return 1')], 2);
  assert.equal(b[pos(FIXTURE, '}\n', 0, 1)], 0, 'last brace closes everything');
});

test('indent-level (tab stops of 8), column and line-end-distance', async () => {
  const labels = await labelConcepts(FIXTURE, 'c');
  const ind = track(labels, 'indent-level');
  const col = track(labels, 'column');
  const dist = track(labels, 'line-end-distance');
  assert.equal(ind[pos(FIXTURE, 'char q')], 8);
  assert.equal(ind[pos(FIXTURE, "'\\''")], 8, 'constant across the line');
  assert.equal(ind[pos(FIXTURE, 'const char *u')], 10, "'  \\t  ' = 8 + 2");
  assert.equal(ind[pos(FIXTURE, 'if (x)')], 16);
  assert.equal(ind[pos(FIXTURE, 'int f')], 0);
  // Line 5: '  \t  const char *u = "é😀x";' has 27 code points.
  const lineStart = pos(FIXTURE, '  \t  const');
  const lineLength = Array.from('  \t  const char *u = "é😀x";').length;
  assert.equal(col[lineStart], 0);
  assert.equal(col[lineStart + lineLength - 1], lineLength - 1);
  assert.equal(col[lineStart + lineLength], lineLength, 'the newline');
  assert.equal(dist[lineStart], lineLength);
  assert.equal(dist[lineStart + lineLength], 0, 'the newline');
  assert.equal(dist[pos(FIXTURE, '😀')], 4);
  assert.equal(ind[lineStart + lineLength], 10, 'the newline belongs to its line');
});

test('in-preprocessor: directive lines with continuations, final newline excluded', async () => {
  const text = 'int a;\n  #define SQ(x) \\\n    ((x) * (x))\n#if A\nint b;\n#endif\n';
  for (const labeller of ['auto', 'lexer'] as const) {
    const labels = await labelConcepts(text, 'c', { labeller });
    const p = track(labels, 'in-preprocessor');
    const hash = pos(text, '#define');
    assert.equal(slice(p, 0, hash), '0'.repeat(hash), labeller);
    const cont = pos(text, '((x)');
    assert.equal(slice(p, hash, cont + 11), '1'.repeat(cont + 11 - hash), `${labeller}: continuation line included`);
    assert.equal(p[cont + 11], 0, `${labeller}: final newline`);
    assert.equal(p[pos(text, 'int b')], 0);
    assert.equal(p[pos(text, '#endif') + 5], 1);
    // The macro body is lexed: brackets count.
    assert.equal(track(labels, 'bracket-depth')[cont + 1], 2);
  }
});

test('tree-sitter and the lexer agree on a well-formed C file', async () => {
  const ts = await labelConcepts(FIXTURE, 'c');
  const lx = await labelConcepts(FIXTURE, 'c', { labeller: 'lexer' });
  assert.equal(ts.labeller, 'tree-sitter-c');
  assert.equal(lx.labeller, 'lexer');
  assert.equal(ts.concepts.length, lx.concepts.length);
  for (let k = 0; k < ts.concepts.length; k++) {
    const a = ts.concepts[k];
    const b = lx.concepts[k];
    assert.equal(a.id, b.id);
    const diff = a.values.findIndex((v, t) => v !== b.values[t]);
    assert.equal(diff, -1, `${a.id} differs at code point ${diff}: tree-sitter ${a.values[diff]}, lexer ${b.values[diff]}`);
  }
});

test('a file with syntax errors still gets labels from tree-sitter', async () => {
  const text = [
    'int f( {',
    '  char *s = "unterminated (;',
    '  if (a && b( { x = 1; }',
    '  /* still "a comment" */ y = )) 3;',
    '  int ok = g("fine");',
    '}',
  ].join('\n');
  const labels = await labelConcepts(text, 'c');
  assert.equal(labels.labeller, 'tree-sitter-c');
  const s = track(labels, 'in-string');
  const c = track(labels, 'in-comment');
  const k = track(labels, 'in-if-condition');
  const b = track(labels, 'bracket-depth');
  const open = pos(text, '"unterminated');
  const eol = pos(text, ';\n  if');
  assert.equal(slice(s, open, eol + 2), '1'.repeat(eol + 1 - open) + '0', 'an unterminated string stops at the end of its line');
  assert.equal(s[pos(text, 'a comment')], 0);
  assert.equal(c[pos(text, 'a comment')], 1);
  assert.equal(c[pos(text, '*/') + 1], 0);
  assert.equal(s[pos(text, '"fine') + 1], 1);
  assert.equal(s[pos(text, 'fine"') + 4], 0);
  assert.equal(k[pos(text, 'a && b')], 1);
  assert.ok(b.every((v) => v >= 0), 'depth never negative');

  // A local error (missing ';', tree-sitter inserts a MISSING node) keeps the rest structured.
  const local = 'int g(void) { return 1 }\nint h(int x) { if (x) return "a)"; }\n';
  const l = await labelConcepts(local, 'c');
  const lexed = await labelConcepts(local, 'c', { labeller: 'lexer' });
  for (const id of ['in-string', 'in-if-condition', 'bracket-depth']) {
    assert.deepEqual(Array.from(track(l, id)), Array.from(track(lexed, id)), id);
  }
  assert.equal(slice(track(l, 'in-string'), pos(local, '"a)"'), pos(local, '"a)"') + 4), '1110');

  // A missing closing paren: the condition runs to the end of what tree-sitter recovered.
  const unclosed = 'int f(int x) {\n  if (g(x) {\n    return 1;\n  }\n}\n';
  const u = await labelConcepts(unclosed, 'c');
  assert.equal(u.labeller, 'tree-sitter-c');
  const cond = pos(unclosed, '(g(x)');
  assert.equal(slice(track(u, 'in-if-condition'), cond, cond + 7), '0111100');
});

test('falls back to the lexer when the grammar cannot be loaded, and says why', async () => {
  const labels = await labelConcepts(FIXTURE, 'c', { grammarWasmPath: '/nonexistent/tree-sitter-c.wasm' });
  assert.equal(labels.labeller, 'lexer');
  assert.match(labels.labellerNote ?? '', /tree-sitter-c unavailable/);
  const s = track(labels, 'in-string');
  assert.equal(s[pos(FIXTURE, '"say')], 1);
  // A later call with the real grammar still works.
  assert.equal((await labelConcepts('int x;', 'c')).labeller, 'tree-sitter-c');
});

test('lexer: other languages', async () => {
  const py = 'x = "a#b"  # note "q"\ns = """multi\nline"""\nif (x): pass\n';
  const p = await labelConcepts(py, 'python');
  assert.equal(p.labeller, 'lexer');
  assert.ok(!p.concepts.some((c) => c.id === 'in-preprocessor'));
  const ps = track(p, 'in-string');
  const pc = track(p, 'in-comment');
  assert.equal(ps[pos(py, '#b')], 1);
  assert.equal(pc[pos(py, '#b')], 0);
  assert.equal(pc[pos(py, '# note')], 1);
  assert.equal(ps[pos(py, '"q"') + 1], 0, 'quotes in a comment');
  assert.equal(ps[pos(py, 'line"""')], 1, 'triple-quoted string spans lines');
  assert.equal(ps[pos(py, 'line"""') + 6], 0, 'last closing quote');
  assert.equal(track(p, 'in-if-condition')[pos(py, 'x):')], 1);

  const js = 'const t = `a\n${b}`; // c\nlet r = a / b; /* d */';
  const j = await labelConcepts(js, 'javascript');
  assert.equal(track(j, 'in-string')[pos(js, '${b}')], 1, 'template literal spans lines');
  assert.equal(track(j, 'in-comment')[pos(js, '/ b')], 0, 'division is not a comment');
  assert.equal(track(j, 'in-comment')[pos(js, 'd */')], 1);

  const sh = 'echo $# ${#x} # real\n';
  const h = await labelConcepts(sh, 'shellscript');
  assert.equal(track(h, 'in-comment')[pos(sh, '$#') + 1], 0);
  assert.equal(track(h, 'in-comment')[pos(sh, '#x')], 0);
  assert.equal(track(h, 'in-comment')[pos(sh, '# real')], 1);

  const rs = "fn f<'a>(s: &'a str) -> char { 'x' }";
  const r = await labelConcepts(rs, 'rust');
  assert.equal(track(r, 'in-string')[pos(rs, "'a>")], 0, 'lifetime');
  assert.equal(slice(track(r, 'in-string'), pos(rs, "'x'"), pos(rs, "'x'") + 3), '110');
  // A char literal of one code point: an emoji (a surrogate pair) and a lone high surrogate.
  const rc = "let a = '😀'; let b = '\uD800';";
  const rcs = track(await labelConcepts(rc, 'rust'), 'in-string');
  assert.equal(slice(rcs, pos(rc, "'😀'"), pos(rc, "'😀'") + 3), '110');
  assert.equal(slice(rcs, pos(rc, "'\uD800'"), pos(rc, "'\uD800'") + 3), '110', 'a lone surrogate is one code point, not half of a pair');

  // cpp uses the lexer.
  assert.equal((await labelConcepts('int x;', 'cpp')).labeller, 'lexer');
});

test('empty text and text without a final newline', async () => {
  const empty = await labelConcepts('', 'c');
  assert.equal(empty.codePoints, 0);
  assert.ok(empty.concepts.every((c) => c.values.length === 0));
  const one = await labelConcepts('ab', 'plaintext');
  assert.equal(slice(track(one, 'column'), 0, 2), '01');
  assert.equal(slice(track(one, 'line-end-distance'), 0, 2), '21');
});

test('codePointIndex maps both halves of a surrogate pair to one code point', () => {
  const { cpOf, codePoints } = codePointIndex('a😀b\uD800c');
  assert.equal(codePoints, 5);
  assert.deepEqual(Array.from(cpOf), [0, 1, 1, 2, 3, 4, 5]);
});

test('regexConcept marks code points inside matches', () => {
  const text = 'TODO: é😀 fix TODO';
  const c: Concept = regexConcept(text, 'todo', /TODO|😀 f/u);
  assert.equal(c.kind, 'binary');
  assert.equal(c.values.length, Array.from(text).length);
  assert.equal(slice(c.values, 0, c.values.length), '11110001110001111');
  // Zero-length matches mark nothing and do not loop forever.
  assert.equal(regexConcept(text, 'empty', 'q*').values.every((v) => v === 0), true);
  assert.equal(regexConcept('a\nb', 'starts', '^', 'm').values.every((v) => v === 0), true);
  assert.equal(regexConcept('😀😀', 'u', '(?:)', 'u').values.length, 2);
});

test('regexConcept rejects invalid patterns with a clear error', () => {
  assert.throws(() => regexConcept('abc', 'bad', '(unclosed'), /Concept "bad": invalid regular expression \/\(unclosed\//);
  assert.throws(() => regexConcept('abc', 'bad', 'a', 'q'), /invalid regular expression/);
  assert.throws(() => regexConcept('abc', '', 'a'), /non-empty id/);
});

test('extra concepts through labelConcepts', async () => {
  const text = 'x = NULL; y = "NULL";';
  const labels = await labelConcepts(text, 'c', { extra: [{ id: 'null', pattern: 'NULL' }] });
  const nul = track(labels, 'null');
  assert.equal(slice(nul, 0, nul.length), '000011110000000111100');
  await assert.rejects(labelConcepts(text, 'c', { extra: [{ id: 'in-string', pattern: 'x' }] }), /already used/);
  await assert.rejects(labelConcepts(text, 'c', { extra: [{ id: 'bad', pattern: '[' }] }), /Concept "bad": invalid regular expression/);
});
