/**
 * Recurrence kernel timings: native vs js, seqForward + seqBackward for one LSTM layer.
 *
 *   node out/bench/kernels.js [--quick] [--native-only] [--threads N]
 *
 * Times are the best of repeated calls (the machine may be shared). GFLOP/s counts only the recurrent matrix products (2·B·H·G·H per step forward, the same again
 * backward); the fused pointwise work is extra.
 */
import { GATES, CellKind, RecurrenceKernels, SeqForwardInput } from '../src/engine/nn/kernels';
import { jsKernels } from '../src/engine/nn/jsKernels';
import { nativeKernels, nativeStatus, setNativeThreads } from '../src/engine/runtime/native';

function input(kind: CellKind, T: number, B: number, H: number): SeqForwardInput {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  const GH = GATES[kind] * H;
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale);
  return {
    kind, T, B, H,
    xProj: fill(T * B * GH, 1),
    wh: fill(H * GH, 1 / Math.sqrt(H)),
    bh: kind === 'gru' ? fill(GH, 0.1) : null,
    h0: fill(B * H, 0.5),
    c0: kind === 'lstm' ? fill(B * H, 0.5) : null,
  };
}

/** Best (minimum) ms per call over repeated runs: robust to other load on the machine. */
function time(fn: () => void, minMs: number, minRuns: number): number {
  if (minRuns > 1) fn(); // warm-up
  let best = Infinity;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || n < minRuns) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
    n++;
  }
  return best;
}

function bench(k: RecurrenceKernels, kind: CellKind, T: number, B: number, H: number, minMs: number, minRuns = 3): void {
  const inp = input(kind, T, B, H);
  const dHs = new Float32Array(T * B * H).fill(0.01);
  let fwd = k.seqForward(inp);
  const fMs = time(() => { fwd = k.seqForward(inp); }, minMs, minRuns);
  const bMs = time(() => { k.seqBackward({ ...inp, fwd, dHs, dhT: null, dcT: null }); }, minMs, minRuns);
  const flops = 2 * T * B * H * GATES[kind] * H; // per direction
  const gf = (f: number, ms: number) => (f / (ms * 1e6)).toFixed(2);
  console.log(
    `${k.name.padEnd(6)} ${kind} T=${T} B=${B} H=${String(H).padEnd(4)} ` +
      `fwd ${fMs.toFixed(2).padStart(8)} ms (${gf(flops, fMs).padStart(6)} GFLOP/s)  ` +
      `bwd ${bMs.toFixed(2).padStart(8)} ms (${gf(flops, bMs).padStart(6)} GFLOP/s)  ` +
      `fwd+bwd ${(fMs + bMs).toFixed(2).padStart(8)} ms (${gf(2 * flops, fMs + bMs).padStart(6)} GFLOP/s)`,
  );
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const nativeOnly = process.argv.includes('--native-only');
  const minMs = quick ? 200 : 1500;
  const ti = process.argv.indexOf('--threads');
  if (ti >= 0) setNativeThreads(Number(process.argv[ti + 1]));
  const st = nativeStatus();
  console.log(st.available
    ? `native: BLAS ${st.blas} (${st.openblas ? st.config ?? 'OpenBLAS' : 'not OpenBLAS'}), ${st.threads} threads`
    : `native: unavailable (${st.reason})`);
  const shapes: Array<[number, number, number]> = [[64, 32, 128], [64, 32, 512], [64, 1, 256]];
  for (const [T, B, H] of shapes) {
    if (nativeKernels()) bench(nativeKernels()!, 'lstm', T, B, H, minMs);
    // The JS kernels take seconds per call at H=512: one timed run there.
    if (!nativeOnly) bench(jsKernels, 'lstm', T, B, H, H >= 512 ? 0 : minMs, H >= 512 ? 1 : 3);
  }
}

main();
