// LSTM Lab native output-layer kernel, included by lstm_lab.cc: softmax + cross-entropy over the
// logits of a batch and dLoss/dlogits in one pass (src/engine/nn/linalg.ts's softmaxCrossEntropy, whose
// JS loop it replaces on native: one Math.exp per logit cost ~27 ns, 7 ms a step of a config-A worker).
//
// Per row r of V logits z, weight w_r (1 without weights) and target y_r:
//   loss_r = log Σ_j exp(z_j − max z) + max z − z_{y_r}
//   d_r    = (softmax(z) − onehot(y_r)) · w_r / total
// The exponentials are fast_exp in float32 (relative error ~1e-7), summed in float per row and taken to
// double for the log; the loss Σ_r w_r·loss_r accumulates in double, as the JS loop does.
//
// Carries an AVX-512 clone, an AVX2 clone and a portable default (OPT_MULTIVERSION of lstm_lab.cc).

#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>

// Returns Σ_r w_r·loss_r. `scratch` holds V floats when d is null (the loss alone).
OPT_MULTIVERSION
static double SoftmaxCrossEntropyLoop(size_t N, size_t V, const float* __restrict z,
                                      const int32_t* __restrict targets,
                                      const float* __restrict weights, double total,
                                      float* __restrict d, float* __restrict scratch) {
  double loss = 0.0;
  for (size_t r = 0; r < N; r++) {
    const float* __restrict zr = z + r * V;
    float* __restrict e = d ? d + r * V : scratch;
    float max = zr[0];
    for (size_t j = 1; j < V; j++) max = zr[j] > max ? zr[j] : max;
    float sum = 0.0f;
    for (size_t j = 0; j < V; j++) {
      const float v = fast_exp(zr[j] - max);
      e[j] = v;
      sum += v;
    }
    const double w = weights ? (double)weights[r] : 1.0;
    const int32_t y = targets[r];
    loss += w * (log((double)sum) + (double)max - (double)zr[y]);
    if (d) {
      const float scale = (float)(w / ((double)sum * total));
      for (size_t j = 0; j < V; j++) e[j] *= scale;
      if (w != 0.0) e[y] -= (float)(w / total);
    }
  }
  return loss;
}
