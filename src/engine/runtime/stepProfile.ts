/**
 * Where one training step's time goes, phase by phase, for the benchmark (`lstm-lab bench` prints it
 * for configs A and B). Off unless a profile is being taken: `phase()` is then one null check.
 *
 * The native and cpu backends run TF.js kernels synchronously, so wall time around a call is the
 * call's time. What no phase covers (tensor bookkeeping, tidy, the loop) is reported as "TF.js and
 * loop overhead".
 */

export type StepPhase =
  | 'input projection'
  | 'forward recurrence'
  | 'output projection'
  | 'softmax + cross-entropy'
  | 'output gradients'
  | 'backward recurrence'
  | 'weight gradients'
  | 'gradient norm'
  | 'optimiser';

let open: Map<StepPhase, number> | null = null;

/** Run `fn`, adding its wall time to `name` when a profile is being taken. */
export function phase<T>(name: StepPhase, fn: () => T): T {
  if (!open) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    open.set(name, (open.get(name) ?? 0) + performance.now() - t0);
  }
}

export interface StepProfile {
  steps: number;
  /** Milliseconds per step, by phase, the overhead last. */
  msPerStep: { phase: StepPhase | 'TF.js and loop overhead'; ms: number }[];
  totalMsPerStep: number;
}

/** Time `steps` calls of `step` and say where the time went. */
export function profileSteps(steps: number, step: () => void): StepProfile {
  const spent = new Map<StepPhase, number>();
  open = spent;
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) step();
  } finally {
    open = null;
  }
  const total = performance.now() - t0;
  const rows: StepProfile['msPerStep'] = Array.from(spent, ([p, ms]) => ({ phase: p, ms: ms / steps }));
  const covered = rows.reduce((s, r) => s + r.ms, 0);
  rows.push({ phase: 'TF.js and loop overhead', ms: Math.max(0, total / steps - covered) });
  return { steps, msPerStep: rows, totalMsPerStep: total / steps };
}
