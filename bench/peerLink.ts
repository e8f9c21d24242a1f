/**
 * The PyTorch peer (bench/peer.py) as the benchmarks drive it: where it is, its weight files in the
 * engine's parameter layout (a JSON manifest of names, shapes and offsets, and FILE.bin with the float32
 * values: what peer.py reads with --init and writes with --save), its per-step logs, and running a
 * process pinned to one core with one BLAS thread.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ModelConfig } from '../src/engine/nn/config';
import { paramSpecs } from '../src/engine/nn/model';

const ROOT = path.resolve(__dirname, '..', '..');
export const PEER = path.join(ROOT, 'bench', 'peer.py');
/** Debian's torch lives in /usr/bin/python3 (a pyenv python3 on PATH may have none). */
export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
export const has = (name: string) => process.argv.includes(`--${name}`);

/** Why the peer cannot run here, or null when PyTorch imports. */
export function peerUnavailable(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `the peer needs PyTorch (${PYTHON}: ${(probe.stderr ?? '').trim().split('\n').pop()}); apt-get install python3-torch`;
}

export interface StepLog {
  step: number;
  loss: number;
  gradNorm: number;
}

export function readLog(file: string): StepLog[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as StepLog);
}

export function writeWeights(file: string, params: Map<string, Float32Array>, cfg: ModelConfig): void {
  const shapes = new Map(paramSpecs(cfg).map((s) => [s.name, s.shape]));
  const manifest: { params: Record<string, { shape: number[]; offset: number }> } = { params: {} };
  let offset = 0;
  const parts: Buffer[] = [];
  for (const [name, v] of params) {
    manifest.params[name] = { shape: shapes.get(name)!, offset };
    offset += v.length;
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  fs.writeFileSync(file, JSON.stringify(manifest));
  fs.writeFileSync(file + '.bin', Buffer.concat(parts));
}

export function readWeights(file: string): Map<string, Float32Array> {
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { params: Record<string, { shape: number[]; offset: number }> };
  const bin = fs.readFileSync(file + '.bin');
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const out = new Map<string, Float32Array>();
  for (const [name, { shape, offset }] of Object.entries(manifest.params)) {
    out.set(name, all.slice(offset, offset + shape.reduce((a, b) => a * b, 1)));
  }
  return out;
}

/** A command pinned to one core, when `taskset` exists and the core does. */
export function pinned(core: number, cmd: string, args: string[]): { cmd: string; args: string[] } {
  const canPin = os.cpus().length > core && spawnSync('taskset', ['-c', String(core), 'true']).status === 0;
  return canPin ? { cmd: 'taskset', args: ['-c', String(core), cmd, ...args] } : { cmd, args };
}

/** Run a process to its end (stdout returned); `blasThreads` sets OPENBLAS_NUM_THREADS for it. */
export function run(cmd: string, args: string[], label: string, blasThreads = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENBLAS_NUM_THREADS: String(blasThreads) } });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${label} exited with ${code}: ${err.slice(-2000)}`))));
  });
}
