/**
 * The shape of the code, checked: no file over 700 lines, no function over 120 lines in the product's
 * sources (src/, webview/), and no cycle among the runtime imports of src/ (type-only imports are
 * erased by the compiler and do not count). A function that must be longer — a kernel's loop, say —
 * says why on the line above it with a comment starting `// long:`.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const MAX_FILE_LINES = 700;
const MAX_FUNCTION_LINES = 120;

function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

const rel = (p: string): string => path.relative(ROOT, p);
const product = [...sourcesUnder(path.join(ROOT, 'src')), ...sourcesUnder(path.join(ROOT, 'webview'))];
const everything = [...product, ...sourcesUnder(path.join(ROOT, 'test')), ...sourcesUnder(path.join(ROOT, 'bench'))];

test(`no file is over ${MAX_FILE_LINES} lines`, () => {
  const long = everything
    .map((f) => ({ f: rel(f), lines: fs.readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.lines > MAX_FILE_LINES);
  assert.ok(long.length === 0, '\n' + long.map((x) => `${x.f}: ${x.lines} lines`).join('\n'));
});

/** Functions (declarations, methods, arrows, expressions) longer than the limit, outside `// long:` ones. */
export function longFunctions(file: string, text: string, limit: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const lines = text.split('\n');
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const length = end - start + 1;
      const excused = start > 0 && /^\s*\/\/ long:/.test(lines[start - 1]);
      if (length > limit && !excused) {
        const name = (node as ts.FunctionLikeDeclaration).name?.getText(sf) ?? '(anonymous)';
        found.push(`${file}:${start + 1} ${name}: ${length} lines`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test(`no function in src/ or webview/ is over ${MAX_FUNCTION_LINES} lines`, () => {
  const long = product.flatMap((f) => longFunctions(rel(f), fs.readFileSync(f, 'utf8'), MAX_FUNCTION_LINES));
  assert.ok(long.length === 0, '\n' + long.join('\n'));
});

test('the checker sees a long function and honours a `// long:` reason', () => {
  const body = Array.from({ length: 130 }, (_, i) => `  x += ${i};`).join('\n');
  const text = `function f() {\n  let x = 0;\n${body}\n}\n// long: one loop\nfunction g() {\n${body}\n}\n`;
  const found = longFunctions('t.ts', text, MAX_FUNCTION_LINES);
  assert.equal(found.length, 1);
  assert.match(found[0], /^t\.ts:1 f: 13\d lines$/);
});

/** Runtime (not type-only) relative imports of one file, resolved to files. */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) && !ts.isExportDeclaration(st)) continue;
    if (!st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const spec = st.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const allTypes = clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (allTypes) continue;
    } else if (st.isTypeOnly) continue;
    const base = path.resolve(path.dirname(file), spec);
    const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p));
    if (hit) out.push(hit);
  }
  return out;
}

test('no cycle among the runtime imports of src/', () => {
  const files = sourcesUnder(path.join(ROOT, 'src'));
  const edges = new Map(files.map((f) => [f, runtimeImports(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of edges.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map(rel).join(' → '));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.ok(cycles.length === 0, '\n' + cycles.join('\n'));
});
