/**
 * Which TensorFlow.js backend the engine runs on, chosen once per process and always reported.
 *
 *   native  the TF.js CPU backend with its matrix products and the recurrence done by this project's
 *           Node-API addon over OpenBLAS (native/), when it has been built and OpenBLAS loads;
 *   node    @tensorflow/tfjs-node, when the user has installed it (its install downloads libtensorflow,
 *           so it is never a dependency of ours);
 *   wasm    @tensorflow/tfjs-backend-wasm with SIMD — the portable default;
 *   cpu     plain JavaScript kernels, the last resort.
 *
 * `auto` takes the first of these that loads. All four give the same results within float tolerance
 * (test/backends.test.ts).
 */
// tfjs-core plus the backends, not the @tensorflow/tfjs umbrella: the editor bundles then leave out
// layers, converter and data (the Layers export imports tfjs-layers itself).
import * as tf from '@tensorflow/tfjs-core';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { nativeKernels, nativeStatus, registerNativeBackend } from './native';
import type { RecurrenceKernels } from '../nn/kernels';

export type BackendName = 'native' | 'node' | 'wasm' | 'cpu';
export type BackendPreference = BackendName | 'auto';

export const BACKEND_ORDER: BackendName[] = ['native', 'node', 'wasm', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  /** One line for logs and the dashboard, e.g. "native (OpenBLAS, 2 threads)". */
  description: string;
  /** Why each backend tried before this one was not used. */
  notUsed: Partial<Record<BackendName, string>>;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

/** Versions of the TF.js packages in use (also keeps the cpu backend's registration in bundles). */
export const TFJS_VERSIONS = { core: tf.version_core, cpu: version_cpu };

let current: BackendInfo | null = null;
let wasmDir: string | undefined;

/** Where the wasm backend's .wasm files are (needed when bundled; Node finds them itself otherwise). */
export function setWasmDirectory(dir: string): void {
  wasmDir = dir.endsWith('/') ? dir : dir + '/';
}

let nodeLoadError: string | undefined;
function tryLoadTfjsNode(): boolean {
  if (tf.findBackend('tensorflow')) return true;
  if (nodeLoadError) return false;
  try {
    // Optional accelerator: never a dependency, loaded when the user installed it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return tf.findBackend('tensorflow') !== null;
  } catch (e) {
    nodeLoadError = `@tensorflow/tfjs-node is not installed or does not load (${firstLine(e)})`;
    return false;
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

async function tryBackend(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'native': {
      const st = nativeStatus();
      if (!st.available) return `native addon unavailable: ${st.reason}`;
      if (!registerNativeBackend(tf)) return 'native backend could not be registered';
      break;
    }
    case 'node':
      if (!tryLoadTfjsNode()) return nodeLoadError ?? 'tfjs-node did not register a backend';
      break;
    case 'wasm':
      if (wasmDir) setWasmPaths(wasmDir);
      break;
    case 'cpu':
      break;
  }
  const tfName = name === 'node' ? 'tensorflow' : name;
  try {
    const ok = await tf.setBackend(tfName);
    if (!ok) return `${name} backend failed to initialise`;
    await tf.ready();
  } catch (e) {
    return `${name} backend failed to initialise: ${firstLine(e)}`;
  }
  return null;
}

function describe(name: BackendName): string {
  switch (name) {
    case 'native': {
      const st = nativeStatus();
      return `native (TF.js cpu + Node-API addon, ${st.blas ?? 'BLAS'}, ${st.threads ?? '?'} BLAS threads)`;
    }
    case 'node':
      return 'node (@tensorflow/tfjs-node, libtensorflow)';
    case 'wasm':
      return `wasm (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, 1 thread)`;
    case 'cpu':
      return 'cpu (plain JavaScript kernels)';
  }
}

/**
 * Select the backend. Idempotent for the same preference; the first call decides for the process
 * (TF.js has one global engine), except that a different explicit preference switches.
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (current && (preference === 'auto' || preference === current.name)) return current;
  const candidates = preference === 'auto' ? BACKEND_ORDER : [preference];
  const notUsed: Partial<Record<BackendName, string>> = {};
  for (const name of candidates) {
    const why = await tryBackend(name);
    if (why === null) {
      silenceCpuBanner();
      current = { name, description: describe(name), notUsed };
      return current;
    }
    notUsed[name] = why;
  }
  const reasons = Object.entries(notUsed).map(([k, v]) => `${k}: ${v}`).join('; ');
  throw new BackendError(`No TensorFlow.js backend could be used (${reasons}).`);
}

export function currentBackend(): BackendInfo {
  if (!current) throw new BackendError('The engine has not been initialised: call initBackend() first.');
  return current;
}

/** The fused recurrence kernels for the current backend, or null to use TF.js ops step by step. */
export function fusedKernels(): RecurrenceKernels | null {
  return current?.name === 'native' ? nativeKernels() : null;
}

function silenceCpuBanner(): void {
  // The CPU backend prints a banner recommending tfjs-node on its first write; we report the backend
  // ourselves.
  for (const n of ['cpu', 'native']) {
    const b = tf.engine().registry[n] as unknown as { firstUse?: boolean } | undefined;
    if (b && 'firstUse' in b) b.firstUse = false;
  }
}

/**
 * Run `fn` in a TF.js scope and dispose every tensor it created except those it tf.keep()s.
 * (tf.tidy itself only accepts tensor containers as results.)
 */
export function tidy<T>(fn: () => T): T {
  let out!: T;
  tf.tidy(() => {
    out = fn();
  });
  return out;
}

export { tf };
