/**
 * Gate saturation (Karpathy, Johnson & Fei-Fei 2015, section 4.2 and figure 3): for each gate
 * unit, the fraction of time steps at which it is left-saturated (activation < low, default 0.1:
 * the gate is shut) and right-saturated (activation > high, default 0.9: the gate is open). Each
 * unit is one point (left, right) of the paper's scatter plot; forget-gate units near right = 1 are
 * the "integrators" that remember over long spans.
 *
 * The gates that saturate are the sigmoid ones (GATE_ACTIVATION, kernels.ts): LSTM 'i', 'f', 'o';
 * GRU 'z', 'r'. (The LSTM's 'g' and the GRU's 'n' are tanh candidates, not gates, and are not included.)
 */

import type { ActivationSet } from './cellRanking';
import { CellKind, GATE_ACTIVATION, GATE_ORDER, GateName } from '../engine/nn/kernels';

export interface GateSaturation {
  /** Per unit: fraction of included time steps with activation < low. */
  left: Float32Array;
  /** Per unit: fraction of included time steps with activation > high. */
  right: Float32Array;
}

/** A gate that saturates: a sigmoid gate. */
export type SaturatingGate = Exclude<GateName, 'g' | 'n'>;

const saturates = (g: GateName): g is SaturatingGate => GATE_ACTIVATION[g] === 'sigmoid';

/** The saturating gates of a cell kind, in column order: i, f, o (LSTM); z, r (GRU); none (RNN). */
export function saturatingGates(kind: CellKind): SaturatingGate[] {
  return (GATE_ORDER[kind] as readonly GateName[]).filter(saturates);
}

/** Every saturating gate, in plotting order: the LSTM's i, f, o, then the GRU's z, r. */
export const SATURATING_GATES: readonly SaturatingGate[] = [...saturatingGates('lstm'), ...saturatingGates('gru')];

export interface GateSaturationCloud extends GateSaturation {
  layer: number;
  gate: SaturatingGate;
  units: number;
  /** Time steps counted. */
  steps: number;
}

export interface GateSaturationOptions {
  low?: number;
  high?: number;
  /** Positions to include (non-zero), length N. */
  mask?: Uint8Array;
}

/** Saturation fractions for a row-major [N, units] matrix of gate activations. */
export function gateSaturation(gate: Float32Array, units: number, low = 0.1, high = 0.9, mask?: Uint8Array): GateSaturation {
  if (!(gate instanceof Float32Array)) throw new Error('gateSaturation: gate must be a Float32Array');
  if (!Number.isInteger(units) || units <= 0) throw new Error(`gateSaturation: units must be a positive integer, got ${units}`);
  if (gate.length % units !== 0) throw new Error(`gateSaturation: ${gate.length} values is not a whole number of rows of ${units} units`);
  if (!(low < high)) throw new Error(`gateSaturation: low (${low}) must be below high (${high})`);
  const n = gate.length / units;
  if (mask && mask.length !== n) throw new Error(`gateSaturation: mask has ${mask.length} entries; the gate has ${n} time steps`);
  const leftCount = new Uint32Array(units);
  const rightCount = new Uint32Array(units);
  let steps = 0;
  for (let t = 0; t < n; t++) {
    if (mask && !mask[t]) continue;
    steps++;
    const base = t * units;
    for (let u = 0; u < units; u++) {
      const x = gate[base + u];
      if (x < low) leftCount[u]++;
      else if (x > high) rightCount[u]++;
    }
  }
  if (steps === 0) throw new Error('gateSaturation: no time steps to count');
  const left = new Float32Array(units);
  const right = new Float32Array(units);
  for (let u = 0; u < units; u++) {
    left[u] = leftCount[u] / steps;
    right[u] = rightCount[u] / steps;
  }
  return { left, right };
}

/**
 * The scatter plot's point clouds: one per (layer, gate) present among the activation sets, in
 * layer order then i, f, o, z, r. Non-gate quantities (c, tanh(c), h, g, n) are ignored.
 */
export function gateSaturationClouds(activations: ActivationSet[], options: GateSaturationOptions = {}): GateSaturationCloud[] {
  const low = options.low ?? 0.1;
  const high = options.high ?? 0.9;
  const clouds: GateSaturationCloud[] = [];
  for (const set of activations) {
    const gate = set.quantity as SaturatingGate;
    if (!SATURATING_GATES.includes(gate)) continue;
    const { left, right } = gateSaturation(set.values, set.units, low, high, options.mask);
    let steps = set.values.length / set.units;
    if (options.mask) {
      steps = 0;
      for (let t = 0; t < options.mask.length; t++) if (options.mask[t]) steps++;
    }
    clouds.push({ layer: set.layer, gate, units: set.units, steps, left, right });
  }
  clouds.sort((a, b) => a.layer - b.layer || SATURATING_GATES.indexOf(a.gate) - SATURATING_GATES.indexOf(b.gate));
  return clouds;
}
