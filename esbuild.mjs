// Bundles the extension host code, the training worker and each webview with esbuild, and copies the
// run-time assets they load (TF.js wasm binaries, tree-sitter grammars) into dist/.
//   node esbuild.mjs            one production build (minified, no source maps)
//   node esbuild.mjs --dev      with source maps
//   node esbuild.mjs --watch    rebuild on change
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dev = process.argv.includes('--dev') || process.argv.includes('--watch');
const watch = process.argv.includes('--watch');
const root = path.dirname(new URL(import.meta.url).pathname);
const dist = path.join(root, 'dist');

const common = { bundle: true, minify: !dev, sourcemap: dev ? 'linked' : false, logLevel: 'warning', legalComments: 'none' };

const node = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // vscode is provided by the editor; tfjs-node is an optional accelerator the user may install.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts', dataParallelWorker: 'src/engine/training/dataParallelWorker.ts', ngramWorker: 'src/extension/completions/ngramWorker.ts', cli: 'src/cli/main.ts' }, outdir: dist },
  // The inference worker (activations) and the training worker (cells over time) run web-tree-sitter's ES-module build: give them import.meta.url in CommonJS.
  { ...node, entryPoints: { inferenceWorker: 'src/extension/inferenceWorker.ts', trainingWorker: 'src/extension/trainingWorker.ts' }, outdir: dist, define: { 'import.meta.url': '__importMetaUrl' }, banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" } },
];
for (const page of fs.readdirSync(path.join(root, 'webview'), { withFileTypes: true })) {
  const entry = path.join('webview', page.name, 'main.ts');
  if (!page.isDirectory() || !fs.existsSync(path.join(root, entry))) continue;
  builds.push({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: { [page.name]: entry },
    outdir: path.join(dist, 'webview'),
    loader: { '.css': 'css', '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
  });
}

function copyAssets() {
  const copy = (from, to) => {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  };
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copy(path.join(wasmDir, f), path.join(dist, 'wasm', f));
  copy(path.join(root, 'node_modules', 'tree-sitter-c', 'tree-sitter-c.wasm'), path.join(dist, 'grammars', 'tree-sitter-c.wasm'));
  copy(path.join(root, 'node_modules', 'web-tree-sitter', 'tree-sitter.wasm'), path.join(dist, 'grammars', 'tree-sitter.wasm'));
}

fs.rmSync(dist, { recursive: true, force: true });
copyAssets();
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  const size = (dir) => fs.readdirSync(dir, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? size(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
  console.log(`esbuild: dist/ ${(size(dist) / 1e6).toFixed(1)} MB`);
}
