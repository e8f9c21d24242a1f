// LSTM Lab's per-step recurrent products with W_h packed once per sequence, included by lstm_lab.cc.
//
// A layer's forward recurrence computes pre_t += h_{t-1}·W_h at every step t, its backward
// dh_{t-1} (+)= d_t·W_hᵀ: T products of a few rows (B = 16 or 32) by the same [H, G·H] matrix.
// cblas_sgemm packs its B operand into panels on every call; at these shapes that copy of the whole
// W_h (4 MB for 3×512) costs about as much as the product: OpenBLAS 0.3.21 ran [32 × 512]·[512 × 2048]
// at 63 GFLOP/s on one core, against 119 for this kernel streaming pre-packed panels, and [16 × 512]·
// [512 × 2048] at 53 against 88 (one core of the 2-core development machine). So the sequence packs
// W_h (for the backward, W_hᵀ) once into panels of 32 columns,
//
//   panel p, row k, lane j  =  W[k][32p + j]        (K rows × 32 floats, contiguous; zero-padded)
//
// and every step runs one AVX-512 micro-kernel over them: 8 rows × 32 columns of C held in 16 zmm
// accumulators, one broadcast of A and two panel loads per k. Columns past N in the last panel are
// zeros in the panel and masked off in the store.
//
// Used when the CPU has AVX-512F (checked at run time: the addon is built without -march), the
// product has at least 2 rows and the sequence at least 4 steps, unless LSTM_LAB_PACKED=0; otherwise
// the caller keeps cblas_sgemm / sgemv. `npm run bench` prints where a step's time goes, and with
// LSTM_LAB_PACKED=0 the same with sgemm. The sums run over k
// in order, in float32 with FMA, as sgemm's do; results agree with sgemm's to float rounding (the
// kernels test compares the addon against the JS recurrence).

#pragma once

#include <immintrin.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const int kPanel = 32;

struct PackedMatrix {
  float* panels = nullptr;  // 64-byte aligned
  int K = 0, N = 0, count = 0;
  PackedMatrix() = default;
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;
  ~PackedMatrix() { free(panels); }
  bool Allocate(int k, int n) {
    K = k;
    N = n;
    count = (n + kPanel - 1) / kPanel;
    const size_t bytes = (size_t)count * K * kPanel * sizeof(float);
    panels = static_cast<float*>(aligned_alloc(64, (bytes + 63) / 64 * 64));
    return panels != nullptr;
  }
};

// Whether this CPU runs the packed kernel (AVX-512F), decided once.
static bool PackedProductsAvailable() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

// Pack W [K, N] row-major (ld = N): the forward product's h·W.
static bool PackRows(const float* w, int K, int N, PackedMatrix* out) {
  if (!out->Allocate(K, N)) return false;
  for (int p = 0; p < out->count; p++) {
    const int n0 = p * kPanel, width = N - n0 < kPanel ? N - n0 : kPanel;
    float* dst = out->panels + (size_t)p * K * kPanel;
    for (int k = 0; k < K; k++) {
      memcpy(dst + (size_t)k * kPanel, w + (size_t)k * N + n0, (size_t)width * sizeof(float));
      if (width < kPanel) memset(dst + (size_t)k * kPanel + width, 0, (size_t)(kPanel - width) * sizeof(float));
    }
  }
  return true;
}

// Pack Wᵀ for W [N, K] row-major (ld = K): the backward product's d·Wᵀ, with K = G·H and N = H.
static bool PackTransposed(const float* w, int N, int K, PackedMatrix* out) {
  if (!out->Allocate(K, N)) return false;
  for (int p = 0; p < out->count; p++) {
    const int n0 = p * kPanel, width = N - n0 < kPanel ? N - n0 : kPanel;
    float* dst = out->panels + (size_t)p * K * kPanel;
    for (int k = 0; k < K; k++) {
      float* row = dst + (size_t)k * kPanel;
      for (int j = 0; j < width; j++) row[j] = w[(size_t)(n0 + j) * K + k];
      for (int j = width; j < kPanel; j++) row[j] = 0.0f;
    }
  }
  return true;
}

// C[M, N] = A[M, K]·P + beta·C   (beta 0 or 1; beta 0 never reads C, so NaN in C does not leak).
__attribute__((target("avx512f"))) static void PackedProduct(int M, const float* a, int lda,
                                                              const PackedMatrix& P, float beta,
                                                              float* c, int ldc) {
  const int K = P.K, N = P.N;
  for (int p = 0; p < P.count; p++) {
    const float* panel = P.panels + (size_t)p * K * kPanel;
    const int n0 = p * kPanel, width = N - n0 < kPanel ? N - n0 : kPanel;
    const __mmask16 m0 = width >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << width) - 1);
    const __mmask16 m1 = width >= 32 ? (__mmask16)0xFFFF : width > 16 ? (__mmask16)((1u << (width - 16)) - 1) : (__mmask16)0;
    for (int r0 = 0; r0 < M; r0 += 8) {
      const int rows = M - r0 < 8 ? M - r0 : 8;
      const float* ar = a + (size_t)r0 * lda;
      __m512 c0[8], c1[8];
      for (int r = 0; r < 8; r++) c0[r] = c1[r] = _mm512_setzero_ps();
      if (rows == 8) {
        for (int k = 0; k < K; k++) {
          const __m512 b0 = _mm512_load_ps(panel + (size_t)k * kPanel);
          const __m512 b1 = _mm512_load_ps(panel + (size_t)k * kPanel + 16);
#pragma GCC unroll 8
          for (int r = 0; r < 8; r++) {
            const __m512 av = _mm512_set1_ps(ar[(size_t)r * lda + k]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
          }
        }
      } else {
        for (int k = 0; k < K; k++) {
          const __m512 b0 = _mm512_load_ps(panel + (size_t)k * kPanel);
          const __m512 b1 = _mm512_load_ps(panel + (size_t)k * kPanel + 16);
          for (int r = 0; r < rows; r++) {
            const __m512 av = _mm512_set1_ps(ar[(size_t)r * lda + k]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
          }
        }
      }
      for (int r = 0; r < rows; r++) {
        float* cr = c + (size_t)(r0 + r) * ldc + n0;
        if (beta != 0.0f) {
          c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
          c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        if (m1) _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
      }
    }
  }
}
