/**
 * The native addon used from two threads of one process at once — the extension host's main thread
 * serving completions while a worker trains — must not deadlock or corrupt results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'worker_threads';
import { nativeAddon, nativeStatus } from '../src/engine/runtime/native';

const status = nativeStatus();
const skip = status.available ? false : `native addon unavailable: ${status.reason}`;

test('BLAS calls from the main thread and a worker at the same time all complete', { skip, timeout: 120_000 }, async () => {
  const addon = nativeAddon()!;
  addon.setThreads(2);
  const M = 64, N = 512, K = 128;
  const a = new Float32Array(M * K).fill(0.5), b = new Float32Array(K * N).fill(0.25);
  const expected = 0.5 * 0.25 * K;
  const workerCode = `
    const { parentPort } = require('worker_threads');
    const { nativeAddon } = require(${JSON.stringify(require.resolve('../src/engine/runtime/native'))});
    const addon = nativeAddon();
    const M = 64, N = 512, K = 128;
    const a = new Float32Array(M * K).fill(0.5), b = new Float32Array(K * N).fill(0.25), c = new Float32Array(M * N);
    let bad = 0;
    for (let i = 0; i < 3000; i++) { addon.sgemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N); if (c[7] !== ${expected}) bad++; }
    parentPort.postMessage(bad);`;
  const worker = new Worker(workerCode, { eval: true });
  const workerBad = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const c = new Float32Array(M * N);
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    addon.sgemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N);
    if (c[7] !== expected) bad++;
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.equal(bad, 0);
  assert.equal(await workerBad, 0);
  await worker.terminate();
});
