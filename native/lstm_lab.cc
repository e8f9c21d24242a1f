// LSTM Lab native recurrence kernels: a Node-API (C API) addon.
//
// Implements the recurrence kernel contract of src/engine/kernels.ts (layouts, gate order,
// equations) with one recurrent product per time step plus a fused, vectorisable pointwise loop. The
// product is an AVX-512 kernel over W_h packed once per sequence where the CPU has it
// (recurrent_products.h), else cblas_sgemm (cblas_sgemv at batch 1).
//
// BLAS is not needed at build time: at load the addon dlopen()s a CBLAS library
// ($LSTM_LAB_BLAS if set, else libopenblas.so.0, libopenblas.so, libblas.so.3) and resolves
// cblas_sgemm (and openblas_set_num_threads / openblas_get_num_threads / openblas_get_config if
// present). If none loads, the module still loads and info().available is false with a reason.
//
// Exports:
//   info() -> { available, reason?, blas, config?, openblas, threads }
//   setThreads(n) -> threads now in use
//   sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)        (row-major)
//   seqForward(kind, T, B, H, xProj, wh, bh|null, h0, c0|null, hs, cs|null, gates, hn|null)
//   seqBackward(kind, T, B, H, xProj, wh, bh|null, h0, c0|null, hs, cs|null, gates, hn|null,
//               dHs, dhT|null, dcT|null, dPre, dPreH, dh0, dc0|null)
//   adamUpdate(p, g, m, v, scale, beta1, beta2, stepSize, eps)       (optimiser_kernels.h)
//   rmspropUpdate(p, g, ms, scale, decay, lr, eps)
//   weightedGradientSum(grads, weights: number[], out) -> Σ out²
//   softmaxCrossEntropy(N, V, logits, targets: Int32Array, weights|null, total, dLogits|null) -> Σ w·loss
//                                                                                   (output_kernels.h)
//   gatherRows(V, D, table, ids: Int32Array, bias|null, out)     out[r] = table[ids[r]] (+ bias)
//   scatterAddRows(V, D, ids: Int32Array, x, out)                out[ids[r]] += x[r]
//   dropoutRows(T, B, H, streams, first, salt, salt2, threshold, keep, x, out)   out = x ⊙ mask
//                                                                                   (row_kernels.h)
// All arrays are Float32Array; lengths are validated exactly and outputs must not overlap inputs.

#include <node_api.h>

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// BLAS loading

enum { kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112 };

typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha,
                         const float* A, int lda, const float* B, int ldb, float beta, float* C,
                         int ldc);
typedef void (*sgemv_fn)(int order, int trans, int M, int N, float alpha, const float* A, int lda,
                         const float* x, int incx, float beta, float* y, int incy);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char* (*get_config_fn)(void);

struct Blas {
  bool available = false;
  std::string reason;
  std::string path;    // the file the library was loaded from (as resolved by the loader)
  std::string config;  // openblas_get_config(), if present
  bool openblas = false;
  void* handle = nullptr;
  sgemm_fn sgemm = nullptr;
  sgemv_fn sgemv = nullptr;  // optional: used for batch 1
  set_threads_fn set_threads = nullptr;
  get_threads_fn get_threads = nullptr;
};

static Blas g_blas;
static std::once_flag g_blas_once;

static void LoadBlas() {
  const char* env = getenv("LSTM_LAB_BLAS");
  const char* defaults[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
  const char* candidates[3];
  int n = 0;
  if (env != nullptr && env[0] != '\0') {
    candidates[n++] = env;
  } else {
    for (const char* d : defaults) candidates[n++] = d;
  }
  std::string reasons;
  for (int i = 0; i < n; i++) {
    const char* name = candidates[i];
    dlerror();
    void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = dlerror();
      std::string msg = e ? e : "dlopen failed";
      if (msg.find(name) == std::string::npos) msg = std::string(name) + ": " + msg;
      reasons += std::string(reasons.empty() ? "" : "; ") + msg;
      continue;
    }
    void* sym = dlsym(h, "cblas_sgemm");
    if (sym == nullptr) {
      reasons += std::string(reasons.empty() ? "" : "; ") + name + ": no cblas_sgemm symbol";
      dlclose(h);
      continue;
    }
    g_blas.handle = h;
    g_blas.sgemm = reinterpret_cast<sgemm_fn>(sym);
    g_blas.sgemv = reinterpret_cast<sgemv_fn>(dlsym(h, "cblas_sgemv"));
    g_blas.set_threads = reinterpret_cast<set_threads_fn>(dlsym(h, "openblas_set_num_threads"));
    g_blas.get_threads = reinterpret_cast<get_threads_fn>(dlsym(h, "openblas_get_num_threads"));
    get_config_fn cfg = reinterpret_cast<get_config_fn>(dlsym(h, "openblas_get_config"));
    if (cfg != nullptr) {
      g_blas.openblas = true;
      const char* c = cfg();
      if (c != nullptr) g_blas.config = c;
    }
    Dl_info info;
    std::string where = name;
    if (dladdr(sym, &info) != 0 && info.dli_fname != nullptr) {
      where = info.dli_fname;
      char* real = realpath(info.dli_fname, nullptr);
      if (real != nullptr) {
        if (where != real) where += std::string(" -> ") + real;
        free(real);
      }
    }
    g_blas.path = where;
    g_blas.available = true;
    return;
  }
  g_blas.reason = "no CBLAS library could be loaded (" + reasons + ")";
  if (env != nullptr && env[0] != '\0') g_blas.reason += " [LSTM_LAB_BLAS is set]";
}

static int BlasThreads() {
  if (g_blas.get_threads != nullptr) return g_blas.get_threads();
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Fast vectorisable transcendental functions.
//
// exp: Cephes-style range reduction x = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial, 2^n built
// in the exponent bits; round-to-nearest via the 1.5·2^23 trick so it vectorises on plain SSE2.
// Relative error ~2 ulp. tanh(x) = 1 − 2/(e^{2x}+1): absolute error ~2.5e-7 (fine for
// activations; relative accuracy near 0 is not needed here). sigmoid(x) = 1/(1+e^{−x}).

__attribute__((always_inline)) static inline float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
__attribute__((always_inline)) static inline uint32_t float_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

__attribute__((always_inline)) static inline float fast_exp(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.0f ? -87.0f : x;
  const float kMagic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer in the low bits
  float t = x * 1.44269504088896341f + kMagic;
  float n = t - kMagic;
  int32_t ni = (int32_t)(float_to_bits(t) - float_to_bits(kMagic));
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * bits_to_float((uint32_t)(ni + 127) << 23);
}
__attribute__((always_inline)) static inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }
__attribute__((always_inline)) static inline float fast_tanh(float x) { return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f); }

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__)) && \
    defined(__linux__) && !defined(LSTM_LAB_NO_CLONES)
// One x86-64-v3 (AVX2+FMA) clone and a portable SSE2 default, chosen at load time (ifunc) by CPU
// features. (Not "arch=haswell": that dispatches on the CPU model, so an AMD CPU got the default.)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__)) && \
    defined(__linux__) && !defined(LSTM_LAB_NO_CLONES)
// The optimiser loops are bound by memory and by double-precision divides: they carry an AVX-512
// (x86-64-v4) clone as well.
#define OPT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define OPT_MULTIVERSION
#endif

#include "optimiser_kernels.h"
#include "recurrent_products.h"
#include "output_kernels.h"
#include "row_kernels.h"

// ---------------------------------------------------------------------------------------------
// Fused pointwise steps. Row-major [B, G·H] gate rows, [B, H] state rows.
// Each row kernel takes __restrict pointers to separate H-long rows (GCC only uses restrict on
// parameters) and is force-inlined into the MULTIVERSION per-step loop, so it is vectorised with
// that clone's ISA. (The file must be compiled with -fno-tree-pre: PRE otherwise splits the
// clamps in fast_exp into constant paths and the loops stop vectorising.)
#define ROW __attribute__((always_inline)) static inline

// lstm [i|f|g|o]: g* hold a_t on entry, post-activation gates on exit.
//   i=σ(a_i) f=σ(a_f) g=tanh(a_g) o=σ(a_o);  c = f⊙c_{t-1} + i⊙g,  h = o⊙tanh(c)
ROW void LstmForwardRow(int H, float* __restrict gi, float* __restrict gf, float* __restrict gg,
                        float* __restrict go, const float* __restrict cp, float* __restrict c,
                        float* __restrict h) {
  for (int j = 0; j < H; j++) {
    float i = fast_sigmoid(gi[j]), f = fast_sigmoid(gf[j]);
    float g = fast_tanh(gg[j]), o = fast_sigmoid(go[j]);
    float cc = f * cp[j] + i * g;
    gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
    c[j] = cc;
    h[j] = o * fast_tanh(cc);
  }
}

// cPrev == nullptr means c_{t-1} = 0 (c0 omitted); `zeros` is then an H-long zero row.
MULTIVERSION
static void LstmForwardStep(int B, int H, float* pre, const float* cPrev, const float* zeros,
                            float* c, float* h) {
  const size_t GH = 4 * (size_t)H;
  for (int b = 0; b < B; b++) {
    float* g = pre + b * GH;
    LstmForwardRow(H, g, g + H, g + 2 * H, g + 3 * H, cPrev ? cPrev + (size_t)b * H : zeros,
                   c + (size_t)b * H, h + (size_t)b * H);
  }
}

// gru [z|r|n]: g* hold h_{t-1}·W_h + bh on entry, post-activation gates on exit.
//   z = σ(x_z + hw_z), r = σ(x_r + hw_r), hn = hw_n, n = tanh(x_n + r⊙hn), h = (1−z)⊙n + z⊙h_{t-1}
ROW void GruForwardRow(int H, const float* __restrict xz, const float* __restrict xr,
                       const float* __restrict xn, float* __restrict gz, float* __restrict gr,
                       float* __restrict gn, const float* __restrict hp, float* __restrict hn,
                       float* __restrict h) {
  for (int j = 0; j < H; j++) {
    float z = fast_sigmoid(xz[j] + gz[j]);
    float r = fast_sigmoid(xr[j] + gr[j]);
    float hnj = gn[j];
    float n = fast_tanh(xn[j] + r * hnj);
    gz[j] = z; gr[j] = r; gn[j] = n;
    hn[j] = hnj;
    h[j] = (1.0f - z) * n + z * hp[j];
  }
}

MULTIVERSION
static void GruForwardStep(int B, int H, const float* x, float* pre, const float* hPrev, float* hn,
                           float* h) {
  const size_t GH = 3 * (size_t)H;
  for (int b = 0; b < B; b++) {
    const float* xr = x + b * GH;
    float* g = pre + b * GH;
    const size_t o = (size_t)b * H;
    GruForwardRow(H, xr, xr + H, xr + 2 * H, g, g + H, g + 2 * H, hPrev + o, hn + o, h + o);
  }
}

// rnn: h = tanh(a); the "gates" output is h itself.
MULTIVERSION
static void RnnForwardStep(size_t n, float* __restrict pre, float* __restrict h) {
  for (size_t j = 0; j < n; j++) {
    float v = fast_tanh(pre[j]);
    pre[j] = v;
    h[j] = v;
  }
}

// lstm backward row. dh = dHs_t + carry; dc (in/out) is the c carry.
//   dc_t = dc + dh⊙o⊙(1−tanh²c);  da_i = dc_t⊙g⊙i(1−i);  da_f = dc_t⊙c_{t-1}⊙f(1−f)
//   da_g = dc_t⊙i⊙(1−g²);  da_o = dh⊙tanh(c)⊙o(1−o);  dc_{t-1} = dc_t⊙f
ROW void LstmBackwardRow(int H, const float* __restrict gi, const float* __restrict gf,
                         const float* __restrict gg, const float* __restrict go,
                         const float* __restrict c, const float* __restrict cp,
                         const float* __restrict dhs, const float* __restrict carry,
                         float* __restrict dc, float* __restrict di, float* __restrict df,
                         float* __restrict dg, float* __restrict dout) {
  for (int j = 0; j < H; j++) {
    float i = gi[j], f = gf[j], g = gg[j], o = go[j];
    float tc = fast_tanh(c[j]);
    float dh = dhs[j] + carry[j];
    float dct = dc[j] + dh * o * (1.0f - tc * tc);
    di[j] = dct * g * i * (1.0f - i);
    df[j] = dct * cp[j] * f * (1.0f - f);
    dg[j] = dct * i * (1.0f - g * g);
    dout[j] = dh * tc * o * (1.0f - o);
    dc[j] = dct * f;
  }
}

MULTIVERSION
static void LstmBackwardStep(int B, int H, const float* gates, const float* c, const float* cPrev,
                             const float* zeros, const float* dHs, const float* carry, float* dc,
                             float* dPre) {
  const size_t GH = 4 * (size_t)H;
  for (int b = 0; b < B; b++) {
    const float* g = gates + b * GH;
    float* d = dPre + b * GH;
    const size_t o = (size_t)b * H;
    LstmBackwardRow(H, g, g + H, g + 2 * H, g + 3 * H, c + o, cPrev ? cPrev + o : zeros, dHs + o,
                    carry + o, dc + o, d, d + H, d + 2 * H, d + 3 * H);
  }
}

// gru backward row. dh = dHs_t + carry; carry ← dh⊙z (the sgemm then adds dPreH·W_hᵀ).
//   da_z = dh⊙(h_{t-1}−n)⊙z(1−z);  da_n = dh⊙(1−z)⊙(1−n²);  da_r = da_n⊙hn⊙r(1−r)
//   dPre = [da_z | da_r | da_n],  dPreH = [da_z | da_r | da_n⊙r]
ROW void GruBackwardRow(int H, const float* __restrict gz, const float* __restrict gr,
                        const float* __restrict gn, const float* __restrict hn,
                        const float* __restrict hp, const float* __restrict dhs,
                        float* __restrict carry, float* __restrict dz, float* __restrict dr,
                        float* __restrict dn, float* __restrict hz, float* __restrict hr,
                        float* __restrict hnn) {
  for (int j = 0; j < H; j++) {
    float z = gz[j], r = gr[j], n = gn[j];
    float dh = dhs[j] + carry[j];
    float dan = dh * (1.0f - z) * (1.0f - n * n);
    float daz = dh * (hp[j] - n) * z * (1.0f - z);
    float dar = dan * hn[j] * r * (1.0f - r);
    dz[j] = daz; dr[j] = dar; dn[j] = dan;
    hz[j] = daz; hr[j] = dar; hnn[j] = dan * r;
    carry[j] = dh * z;
  }
}

MULTIVERSION
static void GruBackwardStep(int B, int H, const float* gates, const float* hn, const float* hPrev,
                            const float* dHs, float* carry, float* dPre, float* dPreH) {
  const size_t GH = 3 * (size_t)H;
  for (int b = 0; b < B; b++) {
    const float* g = gates + b * GH;
    float* d = dPre + b * GH;
    float* e = dPreH + b * GH;
    const size_t o = (size_t)b * H;
    GruBackwardRow(H, g, g + H, g + 2 * H, hn + o, hPrev + o, dHs + o, carry + o, d, d + H,
                   d + 2 * H, e, e + H, e + 2 * H);
  }
}

// rnn backward step: da = (dHs_t + carry)⊙(1−h²)
MULTIVERSION
static void RnnBackwardStep(size_t n, const float* __restrict h, const float* __restrict dHs,
                            const float* __restrict carry, float* __restrict dPre) {
  for (size_t j = 0; j < n; j++) dPre[j] = (dHs[j] + carry[j]) * (1.0f - h[j] * h[j]);
}

// ---------------------------------------------------------------------------------------------
// Sequence kernels (arguments already validated)

// OpenBLAS's own thread pool is not safe to enter from two threads at once (the extension host's
// main thread serving completions while a worker trains, both in one process, deadlocked here).
// With more than one BLAS thread, every BLAS call in the process takes this lock; with one thread
// (the data-parallel workers set that) OpenBLAS runs in the caller and calls may overlap freely.
static std::mutex g_blas_mutex;
struct BlasGuard {
  std::unique_lock<std::mutex> lock;
  BlasGuard() : lock(g_blas_mutex, std::defer_lock) {
    if (g_blas.get_threads == nullptr || g_blas.get_threads() > 1) lock.lock();
  }
};

enum Kind { kLstm = 0, kGru = 1, kRnn = 2 };
static const int kGates[3] = {4, 3, 1};

// The per-step recurrent products. W_h is row-major [H, G·H].
// Batch 1 goes to cblas_sgemv when the library has it: OpenBLAS 0.3.21 runs an M=1 sgemm through
// the full packing path, 4-8x slower than sgemv at H=256..512 (measured).

// Whether a sequence of T steps at batch B runs its recurrent products on W_h packed once
// (recurrent_products.h): AVX-512 present, a product of more than one row, enough steps to repay
// the packing, and not turned off (LSTM_LAB_PACKED=0, for comparisons against sgemm).
// (Read per sequence, so a process can switch it; the lookup costs nothing beside a sequence.)
static bool UsePackedProducts(int T, int B) {
  const char* v = getenv("LSTM_LAB_PACKED");
  const bool enabled = !(v != nullptr && strcmp(v, "0") == 0);
  return enabled && B >= 2 && T >= 4 && PackedProductsAvailable();
}

// pre[B, G·H] = h[B, H]·W_h + pre   (beta = 1); `packed`: W_h packed by PackRows, or null.
static void StepHW(int B, int H, int GH, const float* h, const float* wh, float* pre,
                   const PackedMatrix* packed = nullptr) {
  if (packed != nullptr) {
    PackedProduct(B, h, H, *packed, 1.0f, pre, GH);
    return;
  }
  BlasGuard guard;
  if (B == 1 && g_blas.sgemv != nullptr) {
    g_blas.sgemv(kCblasRowMajor, kCblasTrans, H, GH, 1.0f, wh, GH, h, 1, 1.0f, pre, 1);
  } else {
    g_blas.sgemm(kCblasRowMajor, kCblasNoTrans, kCblasNoTrans, B, GH, H, 1.0f, h, H, wh, GH, 1.0f,
                 pre, GH);
  }
}

// dh[B, H] = d[B, G·H]·W_hᵀ + beta·dh   (beta 0 or 1); `packed`: W_hᵀ packed by PackTransposed, or null.
static void StepDWT(int B, int H, int GH, const float* d, const float* wh, float beta, float* dh,
                    const PackedMatrix* packed = nullptr) {
  if (packed != nullptr) {
    PackedProduct(B, d, GH, *packed, beta, dh, H);
    return;
  }
  BlasGuard guard;
  if (B == 1 && g_blas.sgemv != nullptr) {
    // Some BLAS scale y by beta=0 as y·0 (NaN-propagating): clear it instead.
    if (beta == 0.0f) memset(dh, 0, (size_t)H * sizeof(float));
    g_blas.sgemv(kCblasRowMajor, kCblasNoTrans, H, GH, 1.0f, wh, GH, d, 1, beta, dh, 1);
  } else {
    g_blas.sgemm(kCblasRowMajor, kCblasNoTrans, kCblasTrans, B, H, GH, 1.0f, d, GH, wh, GH, beta,
                 dh, H);
  }
}

static void SeqForwardImpl(Kind kind, int T, int B, int H, const float* xProj, const float* wh,
                           const float* bh, const float* h0, const float* c0, float* hs, float* cs,
                           float* gates, float* hn) {
  const int GH = kGates[kind] * H;
  const size_t BH = (size_t)B * H, BGH = (size_t)B * GH;
  std::vector<float> zeros(kind == kLstm && c0 == nullptr ? H : 0, 0.0f);  // c_{-1} when c0 omitted
  PackedMatrix packedStore;
  const PackedMatrix* packed = UsePackedProducts(T, B) && PackRows(wh, H, GH, &packedStore) ? &packedStore : nullptr;
  for (int t = 0; t < T; t++) {
    const float* hPrev = t == 0 ? h0 : hs + (size_t)(t - 1) * BH;
    const float* x = xProj + (size_t)t * BGH;
    float* pre = gates + (size_t)t * BGH;
    if (kind == kGru) {
      // pre ← bh (or 0); pre += h_{t-1}·W_h
      for (int b = 0; b < B; b++) {
        if (bh != nullptr) memcpy(pre + (size_t)b * GH, bh, (size_t)GH * sizeof(float));
        else memset(pre + (size_t)b * GH, 0, (size_t)GH * sizeof(float));
      }
    } else {
      // pre ← xProj_t (+ bh); pre += h_{t-1}·W_h
      memcpy(pre, x, BGH * sizeof(float));
      if (bh != nullptr)
        for (int b = 0; b < B; b++)
          for (int j = 0; j < GH; j++) pre[(size_t)b * GH + j] += bh[j];
    }
    StepHW(B, H, GH, hPrev, wh, pre, packed);
    float* h = hs + (size_t)t * BH;
    switch (kind) {
      case kLstm:
        LstmForwardStep(B, H, pre, t == 0 ? c0 : cs + (size_t)(t - 1) * BH, zeros.data(),
                        cs + (size_t)t * BH, h);
        break;
      case kGru:
        GruForwardStep(B, H, x, pre, hPrev, hn + (size_t)t * BH, h);
        break;
      case kRnn:
        RnnForwardStep(BH, pre, h);
        break;
    }
  }
}

static void SeqBackwardImpl(Kind kind, int T, int B, int H, const float* wh, const float* h0,
                            const float* c0, const float* hs, const float* cs, const float* gates,
                            const float* hn, const float* dHs, const float* dhT, const float* dcT,
                            float* dPre, float* dPreH, float* dh0, float* dc0) {
  const int GH = kGates[kind] * H;
  const size_t BH = (size_t)B * H, BGH = (size_t)B * GH;
  std::vector<float> zeros(kind == kLstm && c0 == nullptr ? H : 0, 0.0f);  // c_{-1} when c0 omitted
  // dh0 is the h carry (dL/dh_t from step t+1), dc0 the c carry.
  if (dhT != nullptr) memcpy(dh0, dhT, BH * sizeof(float));
  else memset(dh0, 0, BH * sizeof(float));
  if (kind == kLstm) {
    if (dcT != nullptr) memcpy(dc0, dcT, BH * sizeof(float));
    else memset(dc0, 0, BH * sizeof(float));
  }
  float* dH = kind == kGru ? dPreH : dPre;  // the rows the sgemm reads
  PackedMatrix packedStore;
  const PackedMatrix* packed = UsePackedProducts(T, B) && PackTransposed(wh, H, GH, &packedStore) ? &packedStore : nullptr;
  for (int t = T - 1; t >= 0; t--) {
    const float* g = gates + (size_t)t * BGH;
    const float* dhs = dHs + (size_t)t * BH;
    float* dp = dPre + (size_t)t * BGH;
    float beta = 0.0f;
    switch (kind) {
      case kLstm:
        LstmBackwardStep(B, H, g, cs + (size_t)t * BH, t == 0 ? c0 : cs + (size_t)(t - 1) * BH,
                         zeros.data(),
                         dhs, dh0, dc0, dp);
        break;
      case kGru:
        GruBackwardStep(B, H, g, hn + (size_t)t * BH, t == 0 ? h0 : hs + (size_t)(t - 1) * BH, dhs,
                        dh0, dp, dPreH + (size_t)t * BGH);
        beta = 1.0f;  // carry already holds dh⊙z
        break;
      case kRnn:
        RnnBackwardStep(BH, g, dhs, dh0, dp);
        break;
    }
    // dh_{t-1} (+)= dPreH_t · W_hᵀ      (M=B, N=H, K=G·H)
    StepDWT(B, H, GH, dH + (size_t)t * BGH, wh, beta, dh0, packed);
  }
  if (kind != kGru && dPreH != dPre) memcpy(dPreH, dPre, (size_t)T * BGH * sizeof(float));
}

// ---------------------------------------------------------------------------------------------
// Node-API argument handling

#define NAPI_OK(call)                                                  \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      ThrowPending(env, "internal Node-API call failed: " #call);      \
      return nullptr;                                                  \
    }                                                                  \
  } while (0)

static void ThrowPending(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, msg);
}

static void ThrowType(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, msg.c_str());
}
static void ThrowRange(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, nullptr, msg.c_str());
}

struct F32 {
  const char* name = "";
  float* data = nullptr;
  size_t len = 0;
  bool present = false;
};

// Reads a Float32Array (or null/undefined when nullable). Throws and returns false on error.
static bool GetF32(napi_env env, const char* fn, napi_value v, const char* name, bool nullable,
                   F32* out) {
  out->name = name;
  napi_valuetype vt;
  if (napi_typeof(env, v, &vt) != napi_ok) {
    ThrowPending(env, "napi_typeof failed");
    return false;
  }
  if (vt == napi_null || vt == napi_undefined) {
    if (nullable) return true;
    ThrowType(env, std::string(fn) + ": " + name + " must be a Float32Array, got " +
                       (vt == napi_null ? "null" : "undefined"));
    return false;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    ThrowType(env, std::string(fn) + ": " + name + " must be a Float32Array" +
                       (nullable ? " or null" : ""));
    return false;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) {
    ThrowPending(env, "napi_get_typedarray_info failed");
    return false;
  }
  if (type != napi_float32_array) {
    ThrowType(env, std::string(fn) + ": " + name + " must be a Float32Array (got another typed array)");
    return false;
  }
  out->data = static_cast<float*>(data);
  out->len = length;
  out->present = true;
  return true;
}

static bool ExpectLen(napi_env env, const char* fn, const F32& a, size_t expected,
                      const std::string& formula) {
  if (!a.present) return true;
  if (a.len != expected) {
    ThrowRange(env, std::string(fn) + ": " + a.name + " has length " + std::to_string(a.len) +
                        ", expected " + formula + " = " + std::to_string(expected));
    return false;
  }
  return true;
}

static bool Require(napi_env env, const char* fn, const F32& a, const char* why) {
  if (a.present) return true;
  ThrowType(env, std::string(fn) + ": " + a.name + " must be a Float32Array " + why);
  return false;
}

static bool GetInt(napi_env env, const char* fn, napi_value v, const char* name, int64_t min,
                   int64_t max, int64_t* out) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (vt != napi_number) {
    ThrowType(env, std::string(fn) + ": " + name + " must be a number");
    return false;
  }
  double d;
  napi_get_value_double(env, v, &d);
  if (!(d == floor(d)) || d < (double)min || d > (double)max) {
    ThrowRange(env, std::string(fn) + ": " + name + " must be an integer in [" +
                        std::to_string(min) + ", " + std::to_string(max) + "], got " +
                        std::to_string(d));
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool GetKind(napi_env env, const char* fn, napi_value v, Kind* out) {
  char buf[16];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &n) != napi_ok) {
    ThrowType(env, std::string(fn) + ": kind must be 'lstm', 'gru' or 'rnn'");
    return false;
  }
  if (strcmp(buf, "lstm") == 0) *out = kLstm;
  else if (strcmp(buf, "gru") == 0) *out = kGru;
  else if (strcmp(buf, "rnn") == 0) *out = kRnn;
  else {
    ThrowType(env, std::string(fn) + ": kind must be 'lstm', 'gru' or 'rnn', got '" + buf + "'");
    return false;
  }
  return true;
}

static bool Overlap(const F32& a, const F32& b) {
  if (!a.present || !b.present || a.len == 0 || b.len == 0) return false;
  const char* a0 = reinterpret_cast<const char*>(a.data);
  const char* b0 = reinterpret_cast<const char*>(b.data);
  return a0 < b0 + b.len * sizeof(float) && b0 < a0 + a.len * sizeof(float);
}

// Every output must be disjoint from every other array (allowed: the pairs listed in `ok`).
static bool CheckNoOverlap(napi_env env, const char* fn, F32* const* outs, int nOuts, F32* const* all,
                           int nAll, const F32* okA = nullptr, const F32* okB = nullptr) {
  for (int i = 0; i < nOuts; i++) {
    for (int j = 0; j < nAll; j++) {
      const F32* o = outs[i];
      const F32* x = all[j];
      if (o == x) continue;
      if ((o == okA && x == okB) || (o == okB && x == okA)) continue;
      if (Overlap(*o, *x)) {
        ThrowRange(env, std::string(fn) + ": output " + o->name + " overlaps " + x->name +
                            " (outputs must be separate arrays)");
        return false;
      }
    }
  }
  return true;
}

static bool CheckBlas(napi_env env, const char* fn) {
  if (g_blas.available) return true;
  napi_throw_error(env, nullptr, (std::string(fn) + ": BLAS unavailable: " + g_blas.reason).c_str());
  return false;
}

// ---------------------------------------------------------------------------------------------
// Exported functions

static napi_value SetStr(napi_env env, napi_value obj, const char* key, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  napi_set_named_property(env, obj, key, v);
  return v;
}

static napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  NAPI_OK(napi_create_object(env, &obj));
  napi_get_boolean(env, g_blas.available, &v);
  napi_set_named_property(env, obj, "available", v);
  if (!g_blas.available) SetStr(env, obj, "reason", g_blas.reason);
  SetStr(env, obj, "blas", g_blas.path);
  if (!g_blas.config.empty()) SetStr(env, obj, "config", g_blas.config);
  napi_get_boolean(env, g_blas.openblas, &v);
  napi_set_named_property(env, obj, "openblas", v);
  napi_create_int32(env, g_blas.available ? BlasThreads() : 0, &v);
  napi_set_named_property(env, obj, "threads", v);
  return obj;
}

static napi_value SetThreads(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc < 1) {
    ThrowType(env, "setThreads(n): n is required");
    return nullptr;
  }
  int64_t n;
  if (!GetInt(env, "setThreads", argv[0], "n", 1, 1024, &n)) return nullptr;
  if (g_blas.available && g_blas.set_threads != nullptr) g_blas.set_threads((int)n);
  napi_value v;
  napi_create_int32(env, g_blas.available ? BlasThreads() : 0, &v);
  return v;
}

static napi_value Sgemm(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "sgemm";
  size_t argc = 13;
  napi_value argv[13];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 13) {
    ThrowType(env, "sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): expected 13 arguments, got " +
                       std::to_string(argc));
    return nullptr;
  }
  if (!CheckBlas(env, fn)) return nullptr;
  bool transA, transB;
  napi_value b;
  NAPI_OK(napi_coerce_to_bool(env, argv[0], &b));
  napi_get_value_bool(env, b, &transA);
  NAPI_OK(napi_coerce_to_bool(env, argv[1], &b));
  napi_get_value_bool(env, b, &transB);
  int64_t M, N, K, lda, ldb, ldc;
  if (!GetInt(env, fn, argv[2], "M", 0, INT_MAX, &M) || !GetInt(env, fn, argv[3], "N", 0, INT_MAX, &N) ||
      !GetInt(env, fn, argv[4], "K", 0, INT_MAX, &K) || !GetInt(env, fn, argv[7], "lda", 1, INT_MAX, &lda) ||
      !GetInt(env, fn, argv[9], "ldb", 1, INT_MAX, &ldb) || !GetInt(env, fn, argv[12], "ldc", 1, INT_MAX, &ldc))
    return nullptr;
  double alpha, beta;
  napi_valuetype vt;
  napi_typeof(env, argv[5], &vt);
  if (vt != napi_number) { ThrowType(env, "sgemm: alpha must be a number"); return nullptr; }
  napi_typeof(env, argv[10], &vt);
  if (vt != napi_number) { ThrowType(env, "sgemm: beta must be a number"); return nullptr; }
  napi_get_value_double(env, argv[5], &alpha);
  napi_get_value_double(env, argv[10], &beta);
  F32 A, Bm, C;
  if (!GetF32(env, fn, argv[6], "A", false, &A) || !GetF32(env, fn, argv[8], "B", false, &Bm) ||
      !GetF32(env, fn, argv[11], "C", false, &C))
    return nullptr;
  // Row-major: op(A) is M×K; A itself is (transA ? K×M : M×K) with row stride lda.
  const int64_t aRows = transA ? K : M, aCols = transA ? M : K;
  const int64_t bRows = transB ? N : K, bCols = transB ? K : N;
  if (lda < (aCols > 1 ? aCols : 1)) {
    ThrowRange(env, "sgemm: lda=" + std::to_string(lda) + " must be >= " + std::to_string(aCols) +
                        (transA ? " (M, transA)" : " (K)"));
    return nullptr;
  }
  if (ldb < (bCols > 1 ? bCols : 1)) {
    ThrowRange(env, "sgemm: ldb=" + std::to_string(ldb) + " must be >= " + std::to_string(bCols) +
                        (transB ? " (K, transB)" : " (N)"));
    return nullptr;
  }
  if (ldc < (N > 1 ? N : 1)) {
    ThrowRange(env, "sgemm: ldc=" + std::to_string(ldc) + " must be >= N=" + std::to_string(N));
    return nullptr;
  }
  auto need = [](int64_t rows, int64_t cols, int64_t ld) -> int64_t {
    return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
  };
  const int64_t needA = need(aRows, aCols, lda), needB = need(bRows, bCols, ldb), needC = need(M, N, ldc);
  if ((int64_t)A.len < needA) {
    ThrowRange(env, "sgemm: A has length " + std::to_string(A.len) + ", needs at least " +
                        std::to_string(needA) + " for a " + std::to_string(aRows) + "x" +
                        std::to_string(aCols) + " matrix with lda=" + std::to_string(lda));
    return nullptr;
  }
  if ((int64_t)Bm.len < needB) {
    ThrowRange(env, "sgemm: B has length " + std::to_string(Bm.len) + ", needs at least " +
                        std::to_string(needB) + " for a " + std::to_string(bRows) + "x" +
                        std::to_string(bCols) + " matrix with ldb=" + std::to_string(ldb));
    return nullptr;
  }
  if ((int64_t)C.len < needC) {
    ThrowRange(env, "sgemm: C has length " + std::to_string(C.len) + ", needs at least " +
                        std::to_string(needC) + " for a " + std::to_string(M) + "x" +
                        std::to_string(N) + " matrix with ldc=" + std::to_string(ldc));
    return nullptr;
  }
  if (Overlap(C, A) || Overlap(C, Bm)) {
    ThrowRange(env, "sgemm: C must not overlap A or B");
    return nullptr;
  }
  if (M == 0 || N == 0) return nullptr;
  if (K == 0) {  // C = beta·C
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        float& c = C.data[i * ldc + j];
        c = beta == 0.0 ? 0.0f : (float)beta * c;
      }
    return nullptr;
  }
  BlasGuard guard;
  g_blas.sgemm(kCblasRowMajor, transA ? kCblasTrans : kCblasNoTrans, transB ? kCblasTrans : kCblasNoTrans,
               (int)M, (int)N, (int)K, (float)alpha, A.data, (int)lda, Bm.data, (int)ldb, (float)beta,
               C.data, (int)ldc);
  return nullptr;
}

// Common shape and input checks for seqForward / seqBackward. argv[0..12] as in seqForward.
struct SeqArgs {
  Kind kind;
  int T, B, H, GH;
  F32 xProj, wh, bh, h0, c0, hs, cs, gates, hn;
};

static bool ParseSeqArgs(napi_env env, const char* fn, napi_value* argv, SeqArgs* s) {
  if (!GetKind(env, fn, argv[0], &s->kind)) return false;
  int64_t T, B, H;
  if (!GetInt(env, fn, argv[1], "T", 0, INT_MAX, &T) || !GetInt(env, fn, argv[2], "B", 1, INT_MAX, &B) ||
      !GetInt(env, fn, argv[3], "H", 1, INT_MAX, &H))
    return false;
  const int64_t G = kGates[s->kind];
  // The sgemm dimensions and leading dimensions (B, G·H) must fit a 32-bit int.
  if (G * H > INT_MAX || B * G * H > ((int64_t)1 << 50) / (T > 0 ? T : 1)) {
    ThrowRange(env, std::string(fn) + ": sizes too large");
    return false;
  }
  s->T = (int)T; s->B = (int)B; s->H = (int)H; s->GH = (int)(G * H);
  const bool lstm = s->kind == kLstm, gru = s->kind == kGru;
  if (!GetF32(env, fn, argv[4], "xProj", false, &s->xProj) || !GetF32(env, fn, argv[5], "wh", false, &s->wh) ||
      !GetF32(env, fn, argv[6], "bh", true, &s->bh) || !GetF32(env, fn, argv[7], "h0", false, &s->h0) ||
      !GetF32(env, fn, argv[8], "c0", true, &s->c0) || !GetF32(env, fn, argv[9], "hs", false, &s->hs) ||
      !GetF32(env, fn, argv[10], "cs", true, &s->cs) || !GetF32(env, fn, argv[11], "gates", false, &s->gates) ||
      !GetF32(env, fn, argv[12], "hn", true, &s->hn))
    return false;
  if (lstm && !Require(env, fn, s->cs, "for kind 'lstm'")) return false;
  if (gru && !Require(env, fn, s->hn, "for kind 'gru'")) return false;
  const size_t TBGH = (size_t)T * B * G * H, TBH = (size_t)T * B * H, BH = (size_t)B * H;
  const size_t GHs = (size_t)G * H, HGH = (size_t)H * G * H;
  const std::string g = std::to_string(G);
  return ExpectLen(env, fn, s->xProj, TBGH, "T*B*" + g + "*H") &&
         ExpectLen(env, fn, s->wh, HGH, "H*" + g + "*H") &&
         ExpectLen(env, fn, s->bh, GHs, g + "*H") && ExpectLen(env, fn, s->h0, BH, "B*H") &&
         ExpectLen(env, fn, s->c0, BH, "B*H") && ExpectLen(env, fn, s->hs, TBH, "T*B*H") &&
         ExpectLen(env, fn, s->cs, TBH, "T*B*H") && ExpectLen(env, fn, s->gates, TBGH, "T*B*" + g + "*H") &&
         ExpectLen(env, fn, s->hn, TBH, "T*B*H");
}

static napi_value SeqForward(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "seqForward";
  size_t argc = 13;
  napi_value argv[13];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 13) {
    ThrowType(env, "seqForward(kind, T, B, H, xProj, wh, bh, h0, c0, hs, cs, gates, hn): expected 13 arguments, got " +
                       std::to_string(argc));
    return nullptr;
  }
  if (!CheckBlas(env, fn)) return nullptr;
  SeqArgs s;
  if (!ParseSeqArgs(env, fn, argv, &s)) return nullptr;
  F32* outs[] = {&s.hs, &s.cs, &s.gates, &s.hn};
  F32* all[] = {&s.xProj, &s.wh, &s.bh, &s.h0, &s.c0, &s.hs, &s.cs, &s.gates, &s.hn};
  if (!CheckNoOverlap(env, fn, outs, 4, all, 9)) return nullptr;
  SeqForwardImpl(s.kind, s.T, s.B, s.H, s.xProj.data, s.wh.data, s.bh.present ? s.bh.data : nullptr,
                 s.h0.data, s.kind == kLstm && s.c0.present ? s.c0.data : nullptr, s.hs.data,
                 s.kind == kLstm ? s.cs.data : nullptr, s.gates.data, s.kind == kGru ? s.hn.data : nullptr);
  return nullptr;
}

static napi_value SeqBackward(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "seqBackward";
  size_t argc = 20;
  napi_value argv[20];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 20) {
    ThrowType(env, "seqBackward(kind, T, B, H, xProj, wh, bh, h0, c0, hs, cs, gates, hn, dHs, dhT, dcT, dPre, dPreH, dh0, dc0): "
                   "expected 20 arguments, got " + std::to_string(argc));
    return nullptr;
  }
  if (!CheckBlas(env, fn)) return nullptr;
  SeqArgs s;
  if (!ParseSeqArgs(env, fn, argv, &s)) return nullptr;
  F32 dHs, dhT, dcT, dPre, dPreH, dh0, dc0;
  if (!GetF32(env, fn, argv[13], "dHs", false, &dHs) || !GetF32(env, fn, argv[14], "dhT", true, &dhT) ||
      !GetF32(env, fn, argv[15], "dcT", true, &dcT) || !GetF32(env, fn, argv[16], "dPre", false, &dPre) ||
      !GetF32(env, fn, argv[17], "dPreH", false, &dPreH) || !GetF32(env, fn, argv[18], "dh0", false, &dh0) ||
      !GetF32(env, fn, argv[19], "dc0", true, &dc0))
    return nullptr;
  const bool lstm = s.kind == kLstm, gru = s.kind == kGru;
  if (lstm && !Require(env, fn, dc0, "for kind 'lstm'")) return nullptr;
  const size_t TBGH = (size_t)s.T * s.B * s.GH, TBH = (size_t)s.T * s.B * s.H, BH = (size_t)s.B * s.H;
  const std::string g = std::to_string(kGates[s.kind]);
  if (!ExpectLen(env, fn, dHs, TBH, "T*B*H") || !ExpectLen(env, fn, dhT, BH, "B*H") ||
      !ExpectLen(env, fn, dcT, BH, "B*H") || !ExpectLen(env, fn, dPre, TBGH, "T*B*" + g + "*H") ||
      !ExpectLen(env, fn, dPreH, TBGH, "T*B*" + g + "*H") || !ExpectLen(env, fn, dh0, BH, "B*H") ||
      !ExpectLen(env, fn, dc0, BH, "B*H"))
    return nullptr;
  if (gru && dPre.data == dPreH.data && TBGH > 0) {
    ThrowRange(env, "seqBackward: for kind 'gru' dPre and dPreH must be separate arrays");
    return nullptr;
  }
  // dPre and dPreH may be the same array for lstm/rnn.
  F32* outs[] = {&dPre, &dPreH, &dh0, &dc0};
  F32* all[] = {&s.xProj, &s.wh, &s.bh, &s.h0, &s.c0, &s.hs, &s.cs, &s.gates, &s.hn,
                &dHs, &dhT, &dcT, &dPre, &dPreH, &dh0, &dc0};
  const bool sameArray = dPre.data == dPreH.data && dPre.len == dPreH.len;
  if (!CheckNoOverlap(env, fn, outs, 4, all, 16, sameArray ? &dPre : nullptr,
                      sameArray ? &dPreH : nullptr))
    return nullptr;
  SeqBackwardImpl(s.kind, s.T, s.B, s.H, s.wh.data, s.h0.data,
                  lstm && s.c0.present ? s.c0.data : nullptr, s.hs.data, lstm ? s.cs.data : nullptr,
                  s.gates.data, gru ? s.hn.data : nullptr, dHs.data, dhT.present ? dhT.data : nullptr,
                  lstm && dcT.present ? dcT.data : nullptr, dPre.data, dPreH.data, dh0.data,
                  lstm ? dc0.data : nullptr);
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Optimiser kernels (optimiser_kernels.h): the loops of optimizer.ts's update rules.

static bool GetDoubles(napi_env env, const char* fn, napi_value* argv, const char* const* names,
                       int n, double* out) {
  for (int i = 0; i < n; i++) {
    napi_valuetype vt;
    napi_typeof(env, argv[i], &vt);
    if (vt != napi_number) {
      ThrowType(env, std::string(fn) + ": " + names[i] + " must be a number");
      return false;
    }
    napi_get_value_double(env, argv[i], &out[i]);
  }
  return true;
}

// The arrays of one update: all of p's length, pairwise disjoint.
static bool CheckSameLength(napi_env env, const char* fn, F32* const* arrays, int n) {
  for (int i = 1; i < n; i++) {
    if (arrays[i]->len != arrays[0]->len) {
      ThrowRange(env, std::string(fn) + ": " + arrays[i]->name + " has length " +
                          std::to_string(arrays[i]->len) + ", expected " + arrays[0]->name +
                          "'s " + std::to_string(arrays[0]->len));
      return false;
    }
  }
  return CheckNoOverlap(env, fn, arrays, n, arrays, n);
}

static napi_value AdamUpdate(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "adamUpdate";
  size_t argc = 9;
  napi_value argv[9];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 9) {
    ThrowType(env, "adamUpdate(p, g, m, v, scale, beta1, beta2, stepSize, eps): expected 9 arguments");
    return nullptr;
  }
  F32 p, g, m, v;
  if (!GetF32(env, fn, argv[0], "p", false, &p) || !GetF32(env, fn, argv[1], "g", false, &g) ||
      !GetF32(env, fn, argv[2], "m", false, &m) || !GetF32(env, fn, argv[3], "v", false, &v))
    return nullptr;
  F32* arrays[] = {&p, &g, &m, &v};
  if (!CheckSameLength(env, fn, arrays, 4)) return nullptr;
  static const char* const names[] = {"scale", "beta1", "beta2", "stepSize", "eps"};
  double c[5];
  if (!GetDoubles(env, fn, argv + 4, names, 5, c)) return nullptr;
  AdamUpdateLoop(p.len, p.data, g.data, m.data, v.data, c[0], c[1], c[2], c[3], c[4]);
  return nullptr;
}

static napi_value RmspropUpdate(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "rmspropUpdate";
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 7) {
    ThrowType(env, "rmspropUpdate(p, g, ms, scale, decay, lr, eps): expected 7 arguments");
    return nullptr;
  }
  F32 p, g, ms;
  if (!GetF32(env, fn, argv[0], "p", false, &p) || !GetF32(env, fn, argv[1], "g", false, &g) ||
      !GetF32(env, fn, argv[2], "ms", false, &ms))
    return nullptr;
  F32* arrays[] = {&p, &g, &ms};
  if (!CheckSameLength(env, fn, arrays, 3)) return nullptr;
  static const char* const names[] = {"scale", "decay", "lr", "eps"};
  double c[4];
  if (!GetDoubles(env, fn, argv + 3, names, 4, c)) return nullptr;
  RmspropUpdateLoop(p.len, p.data, g.data, ms.data, c[0], c[1], c[2], c[3]);
  return nullptr;
}

static napi_value WeightedGradientSumFn(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "weightedGradientSum";
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 3) {
    ThrowType(env, "weightedGradientSum(grads, weights, out): expected 3 arguments");
    return nullptr;
  }
  F32 grads, out;
  if (!GetF32(env, fn, argv[0], "grads", false, &grads) || !GetF32(env, fn, argv[2], "out", false, &out))
    return nullptr;
  bool isArray = false;
  napi_is_array(env, argv[1], &isArray);
  uint32_t W = 0;
  if (isArray) napi_get_array_length(env, argv[1], &W);
  if (!isArray || W < 1 || W > 1024) {
    ThrowType(env, "weightedGradientSum: weights must be an array of 1 to 1024 numbers");
    return nullptr;
  }
  std::vector<double> weights(W);
  for (uint32_t w = 0; w < W; w++) {
    napi_value e;
    napi_valuetype vt;
    NAPI_OK(napi_get_element(env, argv[1], w, &e));
    napi_typeof(env, e, &vt);
    if (vt != napi_number) {
      ThrowType(env, "weightedGradientSum: weights must be an array of numbers");
      return nullptr;
    }
    napi_get_value_double(env, e, &weights[w]);
  }
  if (grads.len != (size_t)W * out.len) {
    ThrowRange(env, "weightedGradientSum: grads has length " + std::to_string(grads.len) +
                        ", expected weights.length * out.length = " + std::to_string((size_t)W * out.len));
    return nullptr;
  }
  if (Overlap(grads, out)) {
    ThrowRange(env, "weightedGradientSum: out must not overlap grads");
    return nullptr;
  }
  const double sq = WeightedGradientSum(out.len, (int)W, grads.data, weights.data(), out.data);
  napi_value r;
  napi_create_double(env, sq, &r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Output-layer kernel (output_kernels.h).

// An Int32Array argument (`arg`: ids, targets), its values checked to lie in [0, V); a value outside is
// "<fn>: <noun> 5 is outside the <table> (size V)".
static bool GetIds(napi_env env, const char* fn, napi_value v, const char* arg, const char* noun, const char* table, int64_t V,
                   const int32_t** data, size_t* len) {
  bool isTa = false;
  napi_is_typedarray(env, v, &isTa);
  napi_typedarray_type type = napi_float32_array;
  void* d = nullptr;
  if (isTa && napi_get_typedarray_info(env, v, &type, len, &d, nullptr, nullptr) != napi_ok) {
    ThrowPending(env, "napi_get_typedarray_info failed");
    return false;
  }
  if (!isTa || type != napi_int32_array) {
    ThrowType(env, std::string(fn) + ": " + arg + " must be an Int32Array");
    return false;
  }
  *data = static_cast<const int32_t*>(d);
  for (size_t r = 0; r < *len; r++) {
    if ((*data)[r] < 0 || (*data)[r] >= V) {
      ThrowRange(env, std::string(fn) + ": " + noun + " " + std::to_string((*data)[r]) + " is outside the " + table + " (size " + std::to_string(V) + ")");
      return false;
    }
  }
  return true;
}

static napi_value SoftmaxCrossEntropyFn(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "softmaxCrossEntropy";
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 7) {
    ThrowType(env, "softmaxCrossEntropy(N, V, logits, targets, weights, total, dLogits): expected 7 arguments");
    return nullptr;
  }
  int64_t N, V;
  if (!GetInt(env, fn, argv[0], "N", 1, INT_MAX, &N) || !GetInt(env, fn, argv[1], "V", 1, INT_MAX, &V)) return nullptr;
  F32 logits, weights, d;
  if (!GetF32(env, fn, argv[2], "logits", false, &logits) || !GetF32(env, fn, argv[4], "weights", true, &weights) ||
      !GetF32(env, fn, argv[6], "dLogits", true, &d))
    return nullptr;
  const int32_t* targets;
  size_t tlen;
  if (!GetIds(env, fn, argv[3], "targets", "target id", "vocabulary", V, &targets, &tlen)) return nullptr;
  const size_t rows = (size_t)N, cols = (size_t)V;
  const std::string nv = "N·V";
  if (!ExpectLen(env, fn, logits, rows * cols, nv) || !ExpectLen(env, fn, d, rows * cols, nv) || !ExpectLen(env, fn, weights, rows, "N"))
    return nullptr;
  if (tlen != rows) {
    ThrowRange(env, "softmaxCrossEntropy: targets has length " + std::to_string(tlen) + ", expected N = " + std::to_string(rows));
    return nullptr;
  }
  double total;
  static const char* const names[] = {"total"};
  if (!GetDoubles(env, fn, argv + 5, names, 1, &total)) return nullptr;
  if (!(total > 0)) {
    ThrowRange(env, "softmaxCrossEntropy: total must be positive");
    return nullptr;
  }
  if (d.present && (Overlap(d, logits) || (weights.present && Overlap(d, weights)))) {
    ThrowRange(env, "softmaxCrossEntropy: dLogits must not overlap logits or weights");
    return nullptr;
  }
  std::vector<float> scratch(d.present ? 0 : cols);
  const double loss = SoftmaxCrossEntropyLoop(rows, cols, logits.data, targets, weights.present ? weights.data : nullptr, total,
                                              d.present ? d.data : nullptr, scratch.data());
  napi_value r;
  napi_create_double(env, loss, &r);
  return r;
}

static napi_value GatherRowsFn(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "gatherRows";
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 6) {
    ThrowType(env, "gatherRows(V, D, table, ids, bias, out): expected 6 arguments");
    return nullptr;
  }
  int64_t V, D;
  if (!GetInt(env, fn, argv[0], "V", 1, INT_MAX, &V) || !GetInt(env, fn, argv[1], "D", 1, INT_MAX, &D)) return nullptr;
  F32 table, bias, out;
  if (!GetF32(env, fn, argv[2], "table", false, &table) || !GetF32(env, fn, argv[4], "bias", true, &bias) ||
      !GetF32(env, fn, argv[5], "out", false, &out))
    return nullptr;
  const int32_t* ids;
  size_t n;
  if (!GetIds(env, fn, argv[3], "ids", "symbol id", "table", V, &ids, &n)) return nullptr;
  if (!ExpectLen(env, fn, table, (size_t)(V * D), "V·D") || !ExpectLen(env, fn, bias, (size_t)D, "D") ||
      !ExpectLen(env, fn, out, n * (size_t)D, "ids.length·D"))
    return nullptr;
  if (Overlap(out, table) || Overlap(out, bias)) {
    ThrowRange(env, "gatherRows: out must not overlap table or bias");
    return nullptr;
  }
  GatherRowsLoop(n, (size_t)D, table.data, ids, bias.present ? bias.data : nullptr, out.data);
  return nullptr;
}

static napi_value ScatterAddRowsFn(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "scatterAddRows";
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 5) {
    ThrowType(env, "scatterAddRows(V, D, ids, x, out): expected 5 arguments");
    return nullptr;
  }
  int64_t V, D;
  if (!GetInt(env, fn, argv[0], "V", 1, INT_MAX, &V) || !GetInt(env, fn, argv[1], "D", 1, INT_MAX, &D)) return nullptr;
  F32 x, out;
  if (!GetF32(env, fn, argv[3], "x", false, &x) || !GetF32(env, fn, argv[4], "out", false, &out)) return nullptr;
  const int32_t* ids;
  size_t n;
  if (!GetIds(env, fn, argv[2], "ids", "symbol id", "table", V, &ids, &n)) return nullptr;
  if (!ExpectLen(env, fn, x, n * (size_t)D, "ids.length·D") || !ExpectLen(env, fn, out, (size_t)(V * D), "V·D"))
    return nullptr;
  if (Overlap(out, x)) {
    ThrowRange(env, "scatterAddRows: out must not overlap x");
    return nullptr;
  }
  ScatterAddLoop(n, (size_t)D, ids, x.data, out.data);
  return nullptr;
}

static napi_value DropoutRowsFn(napi_env env, napi_callback_info cbinfo) {
  const char* fn = "dropoutRows";
  size_t argc = 11;
  napi_value argv[11];
  NAPI_OK(napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr));
  if (argc != 11) {
    ThrowType(env, "dropoutRows(T, B, H, streams, first, salt, salt2, threshold, keep, x, out): expected 11 arguments");
    return nullptr;
  }
  int64_t T, B, H, streams, first, salt, salt2, threshold;
  if (!GetInt(env, fn, argv[0], "T", 0, INT_MAX, &T) || !GetInt(env, fn, argv[1], "B", 0, INT_MAX, &B) ||
      !GetInt(env, fn, argv[2], "H", 0, INT_MAX, &H) || !GetInt(env, fn, argv[3], "streams", 0, INT_MAX, &streams) ||
      !GetInt(env, fn, argv[4], "first", 0, INT_MAX, &first) || !GetInt(env, fn, argv[5], "salt", 0, UINT32_MAX, &salt) ||
      !GetInt(env, fn, argv[6], "salt2", 0, UINT32_MAX, &salt2) || !GetInt(env, fn, argv[7], "threshold", 0, 65536, &threshold))
    return nullptr;
  if (first + B > streams) {
    ThrowRange(env, "dropoutRows: streams [" + std::to_string(first) + ", " + std::to_string(first + B) + ") are outside the batch's " + std::to_string(streams));
    return nullptr;
  }
  double keep;
  static const char* const names[] = {"keep"};
  if (!GetDoubles(env, fn, argv + 8, names, 1, &keep)) return nullptr;
  F32 x, out;
  if (!GetF32(env, fn, argv[9], "x", false, &x) || !GetF32(env, fn, argv[10], "out", false, &out)) return nullptr;
  const size_t len = (size_t)T * (size_t)B * (size_t)H;
  if (!ExpectLen(env, fn, x, len, "T·B·H") || !ExpectLen(env, fn, out, len, "T·B·H")) return nullptr;
  if (Overlap(out, x)) {
    ThrowRange(env, "dropoutRows: out must not overlap x");
    return nullptr;
  }
  DropoutRowsLoop((size_t)T, (size_t)B, (size_t)H, (uint32_t)streams, (uint32_t)first, (uint32_t)salt, (uint32_t)salt2,
                  (uint32_t)threshold, (float)keep, x.data, out.data);
  return nullptr;
}

static napi_value Init(napi_env env, napi_value exports) {
  std::call_once(g_blas_once, LoadBlas);
  napi_property_descriptor props[] = {
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"seqForward", nullptr, SeqForward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"seqBackward", nullptr, SeqBackward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"rmspropUpdate", nullptr, RmspropUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"weightedGradientSum", nullptr, WeightedGradientSumFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmaxCrossEntropy", nullptr, SoftmaxCrossEntropyFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatherRows", nullptr, GatherRowsFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"scatterAddRows", nullptr, ScatterAddRowsFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dropoutRows", nullptr, DropoutRowsFn, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    ThrowPending(env, "lstm_lab: napi_define_properties failed");
    return nullptr;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
