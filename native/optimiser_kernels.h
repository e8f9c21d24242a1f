// LSTM Lab native optimiser kernels, included by lstm_lab.cc: the loops of src/engine/nn/optimizer.ts's
// update rules (Adam, RMSProp) and of the data-parallel gradient average (dataParallel.ts), over flat
// float32 arrays. optimizer.ts holds the rules and computes their per-step constants; these are the
// same loops in C, computed in double precision as the JS loops are (JS numbers are doubles: the value
// of `m[i] = expr` is expr before it is rounded to float32), so they agree with the JS to the last
// float32 bit or one rounding away from it.
//
// Each loop carries an AVX-512 clone (x86-64-v4), an AVX2 clone and a portable default (target_clones,
// the MULTIVERSION of lstm_lab.cc).

#pragma once

#include <math.h>
#include <stddef.h>

// Adam with bias correction folded into stepSize and eps (optimizer.ts):
//   g' = g·scale;  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²;  p −= m·stepSize / (√v + eps)
OPT_MULTIVERSION
static void AdamUpdateLoop(size_t n, float* __restrict p, const float* __restrict g,
                           float* __restrict m, float* __restrict v, double scale, double beta1,
                           double beta2, double stepSize, double eps) {
  const double a1 = 1.0 - beta1, a2 = 1.0 - beta2;
  for (size_t i = 0; i < n; i++) {
    const double gi = (double)g[i] * scale;
    const double mi = (double)m[i] * beta1 + gi * a1;
    const double vi = (double)v[i] * beta2 + gi * gi * a2;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] - (mi * stepSize) / (sqrt(vi) + eps));
  }
}

// RMSProp (char-rnn's): ms = ρ·ms + (1−ρ)·g'²;  p −= g'·lr / (√ms + eps)
OPT_MULTIVERSION
static void RmspropUpdateLoop(size_t n, float* __restrict p, const float* __restrict g,
                              float* __restrict ms, double scale, double decay, double lr,
                              double eps) {
  const double a = 1.0 - decay;
  for (size_t i = 0; i < n; i++) {
    const double gi = (double)g[i] * scale;
    const double msi = (double)ms[i] * decay + gi * gi * a;
    ms[i] = (float)msi;
    p[i] = (float)((double)p[i] - (gi * lr) / (sqrt(msi) + eps));
  }
}

// The data-parallel average: out[i] = Σ_w weights[w]·grads[w·n + i] (in double, rounded once to
// float32), returning Σ_i out[i]² (of the rounded values, as the JS loop sums them).
OPT_MULTIVERSION
static double WeightedGradientSum(size_t n, int workers, const float* __restrict grads,
                                  const double* __restrict weights, float* __restrict out) {
  double sq = 0.0;
  if (workers == 2) {  // the automatic rule's count: one pass, both rows at once
    const double w0 = weights[0], w1 = weights[1];
    const float* __restrict g1 = grads + n;
    for (size_t i = 0; i < n; i++) {
      const float s = (float)(w0 * (double)grads[i] + w1 * (double)g1[i]);
      out[i] = s;
      sq += (double)s * (double)s;
    }
    return sq;
  }
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (int w = 0; w < workers; w++) s += weights[w] * (double)grads[(size_t)w * n + i];
    const float f = (float)s;
    out[i] = f;
    sq += (double)f * (double)f;
  }
  return sq;
}
