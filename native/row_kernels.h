// LSTM Lab native row kernels, included by lstm_lab.cc: the row gathers and scatters of a one-hot
// input layer and the masked rows of dropout (src/engine/nn/linalg.ts's lookupRowsPlusBias and
// scatterAddRows, src/engine/nn/dropout.ts's masks), whose JS loops they replace on native. Per
// config-A worker step (B = 16) the JS loops cost ~1.9 ms (the scatter-add of dW_x) and ~5 ms (two
// masks drawn as arrays, then four products with them, each a copy out of and into a tensor).
//
//   GatherRowsLoop:    out[r] = table[ids[r]] + bias                    (n rows of D)
//   ScatterAddLoop:    out[ids[r]] += x[r], r = 0 … n − 1 in order      (the same sums, in the same
//                      order, as the JS loop)
//   DropoutRowsLoop:   out = x ⊙ m, m the mask dropout.ts's dropoutMask draws, computed here unit by
//                      unit and never stored: the hash of a pair of units, h = mix32(mix32((row·⌈H/2⌉
//                      + k) ^ salt) ^ salt2), decides unit 2k by its low 16 bits and 2k + 1 by its high
//                      16 bits (dropped when below threshold: multiplier 0, else keep). All arithmetic
//                      is uint32, as JS's Math.imul, ^ and >>> are; so the masks are bit for bit the
//                      JS masks, and x·m rounds as the JS product of two float32 values does.

#pragma once

#include <stddef.h>
#include <stdint.h>

static inline uint32_t Mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// ids must already be checked to lie in [0, V).
OPT_MULTIVERSION
static void GatherRowsLoop(size_t n, size_t D, const float* __restrict table, const int32_t* __restrict ids,
                           const float* __restrict bias, float* __restrict out) {
  for (size_t r = 0; r < n; r++) {
    const float* __restrict row = table + (size_t)ids[r] * D;
    float* __restrict o = out + r * D;
    if (bias) {
      for (size_t j = 0; j < D; j++) o[j] = row[j] + bias[j];
    } else {
      for (size_t j = 0; j < D; j++) o[j] = row[j];
    }
  }
}

OPT_MULTIVERSION
static void ScatterAddLoop(size_t n, size_t D, const int32_t* __restrict ids, const float* __restrict x,
                           float* __restrict out) {
  for (size_t r = 0; r < n; r++) {
    float* __restrict o = out + (size_t)ids[r] * D;
    const float* __restrict xr = x + r * D;
    for (size_t j = 0; j < D; j++) o[j] += xr[j];
  }
}

// Rows t·B + b of x (t < T, b < B) are rows t·streams + first + b of the whole batch's mask.
OPT_MULTIVERSION
static void DropoutRowsLoop(size_t T, size_t B, size_t H, uint32_t streams, uint32_t first, uint32_t salt,
                            uint32_t salt2, uint32_t threshold, float keep, const float* __restrict x,
                            float* __restrict out) {
  const size_t pairs = H >> 1;
  const uint32_t halfRow = (uint32_t)((H + 1) >> 1);
  for (size_t t = 0; t < T; t++) {
    for (size_t b = 0; b < B; b++) {
      const uint32_t row = (uint32_t)t * streams + first + (uint32_t)b;
      const size_t o = (t * B + b) * H;
      const uint32_t base = row * halfRow;
      for (size_t k = 0; k < pairs; k++) {
        const uint32_t h = Mix32(Mix32((base + (uint32_t)k) ^ salt) ^ salt2);
        const float m0 = (h & 0xffffu) < threshold ? 0.0f : keep;
        const float m1 = (h >> 16) < threshold ? 0.0f : keep;
        out[o + 2 * k] = x[o + 2 * k] * m0;
        out[o + 2 * k + 1] = x[o + 2 * k + 1] * m1;
      }
      if (H & 1) {
        const uint32_t h = Mix32(Mix32((base + (uint32_t)pairs) ^ salt) ^ salt2);
        out[o + H - 1] = x[o + H - 1] * ((h & 0xffffu) < threshold ? 0.0f : keep);
      }
    }
  }
}
