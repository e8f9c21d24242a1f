#!/usr/bin/env node
// Builds the optional native addon (native/build/Release/lstm_lab.node) with the node-gyp in
// node_modules, offline: it uses the Node headers installed beside the running node (e.g.
// /usr/include/node) or the nodedir from npm's config, never a download.
//
// Usage: node native/build.js [--strict] [--verbose]
//   On failure it prints why and exits 0 (the addon is optional), or 1 with --strict.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const strict = process.argv.includes('--strict');
const verbose = process.argv.includes('--verbose');
const nativeDir = __dirname;
const root = path.resolve(nativeDir, '..');
const output = path.join(nativeDir, 'build', 'Release', 'lstm_lab.node');
const rel = path.relative(process.cwd(), output) || output;

function fail(why, details) {
  if (details) {
    const lines = details.trimEnd().split('\n');
    const shown = verbose ? lines : lines.slice(-25);
    process.stderr.write((shown.length < lines.length ? '...\n' : '') + shown.join('\n') + '\n');
  }
  console.log(`native addon NOT built: ${why}` + (strict ? '' : ' (optional: the JS kernels are used instead)'));
  process.exit(strict ? 1 : 0);
}

function findNodeGyp() {
  const candidates = [path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    /* not resolvable */
  }
  return candidates.find((p) => fs.existsSync(p));
}

/** A directory D with D/include/node/node_api.h for this node, so node-gyp needs no download. */
function findNodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'include', 'node', 'node_api.h'))) return fromEnv;
  const besideNode = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(besideNode, 'include', 'node', 'node_api.h'))) return besideNode;
  for (const d of ['/usr', '/usr/local']) {
    const common = path.join(d, 'include', 'node', 'common.gypi');
    const version = path.join(d, 'include', 'node', 'node_version.h');
    if (fs.existsSync(common) && fs.existsSync(version)) {
      const text = fs.readFileSync(version, 'utf8');
      const m = /NODE_MAJOR_VERSION (\d+)/.exec(text);
      if (m && Number(m[1]) === Number(process.versions.node.split('.')[0])) return d;
    }
  }
  return undefined;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found in node_modules (run npm install)');
const nodedir = findNodeDir();
if (!nodedir) fail(`no Node ${process.versions.node} headers (include/node/node_api.h) found locally; set npm_config_nodedir`);

const args = [nodeGyp, 'rebuild', '--release', `--nodedir=${nodedir}`];
const res = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  encoding: 'utf8',
  stdio: ['ignore', verbose ? 'inherit' : 'pipe', verbose ? 'inherit' : 'pipe'],
  env: { ...process.env, npm_config_nodedir: nodedir },
});
const log = `${res.stdout || ''}${res.stderr || ''}`;
if (res.error) fail(`could not run node-gyp: ${res.error.message}`, log);
if (res.status !== 0) {
  const firstError = log.split('\n').find((l) => /error|not found|No such file/i.test(l));
  fail(`node-gyp rebuild exited with ${res.status}${firstError ? `: ${firstError.trim()}` : ''}`, log);
}
if (!fs.existsSync(output)) fail(`node-gyp succeeded but ${rel} is missing`, log);

// Load it once to report which BLAS it found (the addon loads even without one).
let blas = '';
try {
  const info = require(output).info();
  blas = info.available
    ? ` (BLAS: ${info.blas}; ${info.openblas ? info.config || 'OpenBLAS' : 'NOT OpenBLAS: may be ~100x slower'}; ${info.threads} thread(s))`
    : ` (loads, but no BLAS: ${info.reason})`;
} catch (e) {
  fail(`${rel} was built but does not load: ${e && e.message}`);
}
console.log(`native addon built: ${rel}${blas}`);
