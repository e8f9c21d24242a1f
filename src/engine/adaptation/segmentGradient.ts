/**
 * One segment of text through the network, for dynamic evaluation and its gradient statistics: the
 * loss of the segment under the given weights and, when asked, its gradient, computed by CharRnn.run
 * (the training path's hand-written backward) with the hidden state carried in and out as plain
 * arrays. Dropout is off: adaptation scores and differentiates the network as it predicts.
 */
import { tidy } from '../runtime/backend';
import { ModelConfig } from '../nn/config';
import { CharRnn, disposeState, stateFromArrays, stateToArrays } from '../nn/model';

/** Hidden state of B streams, per layer, [B, H] each (B = 1: the same shape as InferenceState). */
export interface StreamState {
  h: Float32Array[];
  c: (Float32Array | null)[];
}

export interface SegmentResult {
  /** Mean cross-entropy of the segment's targets in nats per character, under the weights given. */
  loss: number;
  /** ∇ of that mean loss per parameter (null when not asked for). */
  grads: Map<string, Float32Array> | null;
  /** The state after the segment's last character. */
  state: StreamState;
}

export function zeroStreamState(config: ModelConfig, streams: number): StreamState {
  const size = streams * config.hidden;
  return {
    h: Array.from({ length: config.layers }, () => new Float32Array(size)),
    c: Array.from({ length: config.layers }, () => (config.kind === 'lstm' ? new Float32Array(size) : null)),
  };
}

/**
 * Run T steps × B streams (inputs, targets [T, B] time-major ids) from `state` under `weights`.
 * The weights are only read, and no tensor made from them outlives the call, so the caller may
 * update them in place afterwards.
 */
export function runSegment(
  config: ModelConfig,
  weights: Map<string, Float32Array>,
  inputs: Int32Array,
  targets: Int32Array,
  T: number,
  B: number,
  state: StreamState,
  withGrads: boolean,
): SegmentResult {
  const model = new CharRnn({ ...config, dropout: 0 }, weights);
  const start = stateFromArrays(state, B, config.hidden);
  try {
    return tidy(() => {
      const r = model.run(inputs, targets, T, B, start, withGrads);
      const grads = r.grads ? new Map(Array.from(r.grads, ([name, g]) => [name, Float32Array.from(g.dataSync() as Float32Array)])) : null;
      return { loss: r.loss.dataSync()[0], grads, state: stateToArrays(r.state) };
    });
  } finally {
    disposeState(start);
    for (const t of model.params.values()) t.dispose();
  }
}
