// Packed SGEMM (6×16 register blocks) with the im2col done inside the packing, in tiles: no full im2col
// matrix is ever built. Forward and dX parallelise over output rows of the GEMM; dW over the reduction
// (pixels), with one partial sum per thread, reduced at the end.
#include "conv.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "thread-pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ROAD_X86 1
#endif

namespace road {

namespace {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr int KC = 256;

inline int round_up(int v, int m) { return (v + m - 1) / m * m; }
inline int ceil_div(long v, long m) { return static_cast<int>((v + m - 1) / m); }

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer alloc_floats(size_t count) {
  size_t bytes = std::max<size_t>(64, (count * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return Buffer(static_cast<float*>(p));
}

// c[MR×NR] (+)= a-panel (kc×MR, k-major) · b-panel (kc×NR, k-major).
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, long ldc, bool accumulate);

void kernel_generic(int kc, const float* a, const float* b, float* c, long ldc, bool accumulate) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float av = a[r];
      for (int j = 0; j < NR; j++) acc[r][j] += av * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int r = 0; r < MR; r++) {
    float* cr = c + r * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) cr[j] += acc[r][j];
    } else {
      for (int j = 0; j < NR; j++) cr[j] = acc[r][j];
    }
  }
}

#ifdef ROAD_X86
__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* c, long ldc,
                                                      bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    a += MR;
    b += NR;
  }
#define ROAD_STORE(R, X0, X1)                                                   \
  {                                                                             \
    float* cr = c + (R) * ldc;                                                  \
    if (accumulate) {                                                           \
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), X0));             \
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), X1));     \
    } else {                                                                    \
      _mm256_storeu_ps(cr, X0);                                                 \
      _mm256_storeu_ps(cr + 8, X1);                                             \
    }                                                                           \
  }
  ROAD_STORE(0, c00, c01)
  ROAD_STORE(1, c10, c11)
  ROAD_STORE(2, c20, c21)
  ROAD_STORE(3, c30, c31)
  ROAD_STORE(4, c40, c41)
  ROAD_STORE(5, c50, c51)
#undef ROAD_STORE
}
#endif

MicroKernel kernel_for(Isa isa) {
#ifdef ROAD_X86
  if (isa == Isa::kAvx2) return kernel_avx2;
#endif
  (void)isa;
  return kernel_generic;
}

/**
 * The values of one im2col row of the forward conv (output pixel (b, oy, ox)) for the columns
 * k ∈ [k0, k0+count), k = (ky·KW + kx)·Ci + c, written to dst[t·stride].
 */
inline void im2col_row(const ConvGeom& g, const float* x, int b, int oy, int ox, int k0, int count, float* dst,
                       int stride) {
  const int iy0 = oy * g.sh - g.top;
  const int ix0 = ox * g.sw - g.left;
  int tap = k0 / g.ci;
  int c = k0 - tap * g.ci;
  int ky = tap / g.kw;
  int kx = tap - ky * g.kw;
  int t = 0;
  while (t < count) {
    const int run = std::min(g.ci - c, count - t);
    const int iy = iy0 + ky * g.dh;
    const int ix = ix0 + kx * g.dw;
    float* d = dst + static_cast<long>(t) * stride;
    if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
      const float* s = x + ((static_cast<long>(b) * g.h + iy) * g.w + ix) * g.ci + c;
      if (stride == 1) {
        std::memcpy(d, s, run * sizeof(float));
      } else {
        for (int i = 0; i < run; i++) d[static_cast<long>(i) * stride] = s[i];
      }
    } else if (stride == 1) {
      std::memset(d, 0, run * sizeof(float));
    } else {
      for (int i = 0; i < run; i++) d[static_cast<long>(i) * stride] = 0.f;
    }
    t += run;
    c = 0;
    if (++kx == g.kw) {
      kx = 0;
      ky++;
    }
  }
}

/**
 * C = A·B (+ bias, relu) for M rows of N columns, where B (K×N) is packed once up front by pack_b(k0, kc, n0, dst)
 * into NR-column panels, A's rows are produced tile by tile by pack_row(m, k0, kc, dst, stride), and row m of the
 * result is written to row_out(m) (N floats). Threads take blocks of rows; each computes its block into a
 * private padded buffer (no edge tiles), then copies it out with the epilogue.
 */
template <typename PackRow, typename PackB, typename RowOut>
void gemm_rows(ThreadPool& pool, Isa isa, int M, int N, int K, PackRow pack_row, PackB pack_b, RowOut row_out,
               const float* bias, bool relu) {
  if (M <= 0 || N <= 0) return;
  const MicroKernel kernel = kernel_for(isa);
  const int n_pad = round_up(N, NR);
  const int panels_n = n_pad / NR;
  // B packed: for each k block [k0, k0+kc), panels of kc×NR at k0·n_pad + j·kc·NR.
  Buffer b_packed = alloc_floats(static_cast<size_t>(K) * n_pad);
  if (K > 0) {
    const int kblocks = ceil_div(K, KC);
    pool.parallel_for(kblocks * panels_n, [&](int task, int) {
      const int kb = task / panels_n, j = task % panels_n;
      const int k0 = kb * KC, kc = std::min(KC, K - k0);
      pack_b(k0, kc, j * NR, b_packed.get() + static_cast<long>(k0) * n_pad + static_cast<long>(j) * kc * NR);
    });
  }
  const int threads = pool.size();
  int mc = round_up(std::max(1, ceil_div(M, threads * 4)), MR);
  mc = std::min(std::max(mc, MR), 16 * MR);
  const int mblocks = ceil_div(M, mc);
  std::vector<Buffer> a_bufs, c_bufs;
  for (int t = 0; t < threads; t++) {
    a_bufs.push_back(alloc_floats(static_cast<size_t>(mc) * KC));
    c_bufs.push_back(alloc_floats(static_cast<size_t>(mc) * n_pad));
  }
  pool.parallel_for(mblocks, [&](int task, int worker) {
    float* a = a_bufs[worker].get();
    float* cb = c_bufs[worker].get();
    const int m0 = task * mc;
    const int rows = std::min(mc, M - m0);
    const int panels_m = ceil_div(rows, MR);
    if (K == 0) std::memset(cb, 0, sizeof(float) * panels_m * MR * n_pad);
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = std::min(KC, K - k0);
      for (int r = 0; r < panels_m * MR; r++) {
        float* dst = a + static_cast<long>(r / MR) * kc * MR + r % MR;
        if (r < rows) {
          pack_row(m0 + r, k0, kc, dst, MR);
        } else {
          for (int t = 0; t < kc; t++) dst[t * MR] = 0.f;
        }
      }
      const float* bk = b_packed.get() + static_cast<long>(k0) * n_pad;
      for (int j = 0; j < panels_n; j++) {
        const float* bp = bk + static_cast<long>(j) * kc * NR;
        for (int i = 0; i < panels_m; i++) {
          kernel(kc, a + static_cast<long>(i) * kc * MR, bp, cb + static_cast<long>(i) * MR * n_pad + j * NR, n_pad,
                 k0 > 0);
        }
      }
    }
    for (int r = 0; r < rows; r++) {
      const float* src = cb + static_cast<long>(r) * n_pad;
      float* dst = row_out(m0 + r);
      if (bias == nullptr && !relu) {
        std::memcpy(dst, src, sizeof(float) * N);
      } else {
        for (int j = 0; j < N; j++) {
          float v = src[j] + (bias != nullptr ? bias[j] : 0.f);
          dst[j] = relu ? (v > 0.f ? v : 0.f) : v;
        }
      }
    }
  });
}

}  // namespace

Isa detect_isa() {
#ifdef ROAD_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kGeneric;
}

const char* isa_name(Isa isa) { return isa == Isa::kAvx2 ? "avx2-fma" : "generic"; }

void conv2d_forward(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* x, const float* w, const float* bias,
                    bool relu, float* y) {
  const int M = g.n * g.oh * g.ow;
  const int K = g.kh * g.kw * g.ci;
  const int N = g.co;
  const int per_image = g.oh * g.ow;
  auto pack_row = [&](int m, int k0, int kc, float* dst, int stride) {
    const int b = m / per_image;
    const int rem = m - b * per_image;
    const int oy = rem / g.ow;
    im2col_row(g, x, b, oy, rem - oy * g.ow, k0, kc, dst, stride);
  };
  auto pack_b = [&](int k0, int kc, int n0, float* dst) {
    const int nr = std::min(NR, N - n0);
    for (int k = 0; k < kc; k++) {
      const float* s = w + static_cast<long>(k0 + k) * N + n0;
      float* d = dst + k * NR;
      for (int j = 0; j < nr; j++) d[j] = s[j];
      for (int j = nr; j < NR; j++) d[j] = 0.f;
    }
  };
  gemm_rows(pool, isa, M, N, K, pack_row, pack_b, [&](int m) { return y + static_cast<long>(m) * N; }, bias, relu);
}

namespace {

/**
 * dX for few input channels (the gather GEMM's Ci columns would fill a fraction of each 16-wide panel):
 * col[p, (ky,kx,c)] = Σ_o dy[p, o] · W[ky,kx,c,o] for tiles of output pixels p (one GEMM with kh·kw·Ci columns),
 * then scattered (added) into dx where each tap of p lands — serially, in a fixed order.
 */
void backprop_input_col2im(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int cols = g.kh * g.kw * g.ci;
  const long P = static_cast<long>(g.n) * g.oh * g.ow;
  const int per_image = g.oh * g.ow;
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.n) * g.h * g.w * g.ci);
  const int tile = static_cast<int>(std::max<long>(64, std::min<long>(P, (1L << 20) / std::max(cols, 1))));
  Buffer col = alloc_floats(static_cast<size_t>(tile) * cols);
  for (long p0 = 0; p0 < P; p0 += tile) {
    const int rows = static_cast<int>(std::min<long>(tile, P - p0));
    auto pack_row = [&](int m, int k0, int kc, float* dst, int stride) {
      const float* s = dy + (p0 + m) * g.co + k0;
      for (int t = 0; t < kc; t++) dst[static_cast<long>(t) * stride] = s[t];
    };
    // B[o, j] = W[j·Co + o] for the kh·kw·Ci columns j.
    auto pack_b = [&](int k0, int kc, int n0, float* dst) {
      const int nr = std::min(NR, cols - n0);
      for (int k = 0; k < kc; k++) {
        float* d = dst + k * NR;
        for (int j = 0; j < nr; j++) d[j] = w[static_cast<long>(n0 + j) * g.co + k0 + k];
        for (int j = nr; j < NR; j++) d[j] = 0.f;
      }
    };
    auto row_out = [&](int m) { return col.get() + static_cast<long>(m) * cols; };
    gemm_rows(pool, isa, rows, cols, g.co, pack_row, pack_b, row_out, nullptr, false);
    for (int m = 0; m < rows; m++) {
      const long p = p0 + m;
      const int b = static_cast<int>(p / per_image);
      const int rem = static_cast<int>(p - static_cast<long>(b) * per_image);
      const int oy = rem / g.ow;
      const int ox = rem - oy * g.ow;
      const float* src = col.get() + static_cast<long>(m) * cols;
      for (int ky = 0; ky < g.kh; ky++) {
        const int iy = oy * g.sh - g.top + ky * g.dh;
        if (iy < 0 || iy >= g.h) continue;
        for (int kx = 0; kx < g.kw; kx++) {
          const int ix = ox * g.sw - g.left + kx * g.dw;
          if (ix < 0 || ix >= g.w) continue;
          float* d = dx + ((static_cast<long>(b) * g.h + iy) * g.w + ix) * g.ci;
          const float* s = src + (ky * g.kw + kx) * g.ci;
          for (int c = 0; c < g.ci; c++) d[c] += s[c];
        }
      }
    }
  }
}

}  // namespace

void conv2d_backprop_input(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* dy, const float* w,
                           float* dx) {
  if (g.ci < 16) {
    backprop_input_col2im(pool, isa, g, dy, w, dx);
    return;
  }
  // dX[b,iy,ix,c] = Σ_{ky,kx,o} dy[b, (iy+top−ky·dh)/sh, (ix+left−kx·dw)/sw, o] · W[ky,kx,c,o] over exact quotients.
  // Input pixels split into sh×sw phase classes by ((iy+top) mod sh, (ix+left) mod sw); in a class only the taps
  // with ky·dh ≡ phase (mod sh) contribute, so each class is one GEMM with no structural zeros.
  const int N = g.ci;
  for (int ay = 0; ay < g.sh; ay++) {
    const int iy0 = ((ay - g.top) % g.sh + g.sh) % g.sh;
    const int cy = iy0 < g.h ? (g.h - iy0 + g.sh - 1) / g.sh : 0;
    std::vector<int> kys;
    for (int ky = 0; ky < g.kh; ky++)
      if ((static_cast<long>(ky) * g.dh) % g.sh == ay) kys.push_back(ky);
    for (int ax = 0; ax < g.sw; ax++) {
      const int ix0 = ((ax - g.left) % g.sw + g.sw) % g.sw;
      const int cx = ix0 < g.w ? (g.w - ix0 + g.sw - 1) / g.sw : 0;
      if (cy == 0 || cx == 0) continue;
      std::vector<int> kxs;
      for (int kx = 0; kx < g.kw; kx++)
        if ((static_cast<long>(kx) * g.dw) % g.sw == ax) kxs.push_back(kx);
      const int taps_x = static_cast<int>(kxs.size());
      const int K = static_cast<int>(kys.size()) * taps_x * g.co;
      const int M = g.n * cy * cx;
      const int per_image = cy * cx;
      auto pixel = [&](int m, int& b, int& iy, int& ix) {
        b = m / per_image;
        const int rem = m - b * per_image;
        const int qy = rem / cx;
        iy = iy0 + qy * g.sh;
        ix = ix0 + (rem - qy * cx) * g.sw;
      };
      auto pack_row = [&](int m, int k0, int kc, float* dst, int stride) {
        int b, iy, ix;
        pixel(m, b, iy, ix);
        int tap = k0 / g.co;
        int o = k0 - tap * g.co;
        int t = 0;
        while (t < kc) {
          const int run = std::min(g.co - o, kc - t);
          const int ky = kys[tap / taps_x], kx = kxs[tap % taps_x];
          const int oy = (iy + g.top - ky * g.dh) / g.sh;  // exact by construction when ≥ 0
          const int ox = (ix + g.left - kx * g.dw) / g.sw;
          const bool ok = iy + g.top - ky * g.dh >= 0 && ix + g.left - kx * g.dw >= 0 && oy < g.oh && ox < g.ow;
          float* d = dst + static_cast<long>(t) * stride;
          if (ok) {
            const float* s = dy + ((static_cast<long>(b) * g.oh + oy) * g.ow + ox) * g.co + o;
            for (int i = 0; i < run; i++) d[static_cast<long>(i) * stride] = s[i];
          } else {
            for (int i = 0; i < run; i++) d[static_cast<long>(i) * stride] = 0.f;
          }
          t += run;
          o = 0;
          tap++;
        }
      };
      // B[k = tap·Co + o, c] = W[ky, kx, c, o].
      auto pack_b = [&](int k0, int kc, int n0, float* dst) {
        const int nr = std::min(NR, N - n0);
        for (int k = 0; k < kc; k++) {
          const int kk = k0 + k;
          const int tap = kk / g.co;
          const int o = kk - tap * g.co;
          const int ky = kys[tap / taps_x], kx = kxs[tap % taps_x];
          const float* s = w + (static_cast<long>(ky * g.kw + kx) * g.ci + n0) * g.co + o;
          float* d = dst + k * NR;
          for (int j = 0; j < nr; j++) d[j] = s[static_cast<long>(j) * g.co];
          for (int j = nr; j < NR; j++) d[j] = 0.f;
        }
      };
      auto row_out = [&](int m) {
        int b, iy, ix;
        pixel(m, b, iy, ix);
        return dx + ((static_cast<long>(b) * g.h + iy) * g.w + ix) * g.ci;
      };
      gemm_rows(pool, isa, M, N, K, pack_row, pack_b, row_out, nullptr, false);
    }
  }
}

void conv2d_backprop_filter(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* x, const float* dy,
                            float* dw) {
  // dWᵀ[Co × K] = dyᵀ[Co × P] · im2col(x)[P × K], P = n·oh·ow pixels, summed over pixel chunks, one partial sum
  // per thread's contiguous range of chunks.
  const MicroKernel kernel = kernel_for(isa);
  const int K = g.kh * g.kw * g.ci;
  const int Co = g.co;
  const long P = static_cast<long>(g.n) * g.oh * g.ow;
  const int co_pad = round_up(Co, MR);
  const int k_pad = round_up(K, NR);
  const int panels_m = co_pad / MR;
  constexpr int NC = 16 * NR;  // columns of im2col packed at once
  const int threads = pool.size();
  const int per_image = g.oh * g.ow;
  // Pixel chunk: KC, smaller when there are few pixels so that every thread gets work.
  int pc_max = KC;
  while (pc_max > 32 && ceil_div(P, pc_max) < threads) pc_max /= 2;
  const int tasks = ceil_div(P, pc_max);
  const int panels_k = k_pad / NR;
  // Two deterministic schedules (every output element is summed over the pixel chunks in the same order on every run):
  // - many columns (K = kh·kw·ci): threads take ranges of im2col columns over all pixels, into one shared result
  //   (disjoint columns; dy's panels are packed once per range);
  // - few columns: threads take contiguous ranges of pixel chunks, one partial sum each, added in range order.
  const bool by_columns = panels_k >= 4 * threads;
  const int used = by_columns ? 1 : std::min(threads, tasks);
  std::vector<Buffer> partial, a_bufs, b_bufs;
  for (int t = 0; t < used; t++) {
    partial.push_back(alloc_floats(static_cast<size_t>(co_pad) * k_pad));
    std::memset(partial[t].get(), 0, sizeof(float) * co_pad * k_pad);
  }
  for (int t = 0; t < threads; t++) {
    a_bufs.push_back(alloc_floats(static_cast<size_t>(co_pad) * pc_max));
    b_bufs.push_back(alloc_floats(static_cast<size_t>(pc_max) * NC));
  }
  // Adds the pixel chunk `task`'s contribution to columns [col0, col1) of cpart.
  auto chunk = [&](int task, int col0, int col1, float* cpart, float* a, float* bb) {
    const long p0 = static_cast<long>(task) * pc_max;
    const int pc = static_cast<int>(std::min<long>(pc_max, P - p0));
    // A panels: dyᵀ rows (output channels), k-major over the chunk's pixels.
    for (int i = 0; i < panels_m; i++) {
      float* d = a + static_cast<long>(i) * pc * MR;
      const int o0 = i * MR;
      const int mr = std::min(MR, Co - o0);
      for (int p = 0; p < pc; p++) {
        const float* s = dy + (p0 + p) * Co + o0;
        for (int r = 0; r < mr; r++) d[p * MR + r] = s[r];
        for (int r = mr; r < MR; r++) d[p * MR + r] = 0.f;
      }
    }
    for (int n0 = col0; n0 < col1; n0 += NC) {
      const int nc = std::min(NC, col1 - n0);
      const int panels_n = ceil_div(nc, NR);
      for (int j = 0; j < panels_n; j++) {
        const int c0 = n0 + j * NR;
        const int nr = std::min(NR, col1 - c0);
        float* d = bb + static_cast<long>(j) * pc * NR;
        for (int p = 0; p < pc; p++) {
          const long m = p0 + p;
          const int b = static_cast<int>(m / per_image);
          const int rem = static_cast<int>(m - static_cast<long>(b) * per_image);
          const int oy = rem / g.ow;
          im2col_row(g, x, b, oy, rem - oy * g.ow, c0, nr, d + p * NR, 1);
          for (int t = nr; t < NR; t++) d[p * NR + t] = 0.f;
        }
      }
      // Blocks of 16 dyᵀ panels (16·6 rows × pc, ≤ 96 KB) stay in L2 while every im2col panel streams past them.
      for (int i0 = 0; i0 < panels_m; i0 += 16) {
        const int i1 = std::min(panels_m, i0 + 16);
        for (int j = 0; j < panels_n; j++) {
          const float* bp = bb + static_cast<long>(j) * pc * NR;
          for (int i = i0; i < i1; i++) {
            kernel(pc, a + static_cast<long>(i) * pc * MR, bp, cpart + static_cast<long>(i) * MR * k_pad + n0 + j * NR,
                   k_pad, true);
          }
        }
      }
    }
  };
  if (by_columns) {
    const int ranges = std::min(panels_k, 2 * threads);
    pool.parallel_for(ranges, [&](int r, int worker) {
      const int col0 = static_cast<int>(static_cast<long>(r) * panels_k / ranges) * NR;
      const int col1 = std::min(K, static_cast<int>(static_cast<long>(r + 1) * panels_k / ranges) * NR);
      for (int task = 0; task < tasks && col0 < col1; task++) {
        chunk(task, col0, col1, partial[0].get(), a_bufs[worker].get(), b_bufs[worker].get());
      }
    });
  } else {
    pool.parallel_for(used, [&](int group, int worker) {
      const int t0 = static_cast<int>(static_cast<long>(group) * tasks / used);
      const int t1 = static_cast<int>(static_cast<long>(group + 1) * tasks / used);
      for (int task = t0; task < t1; task++) {
        chunk(task, 0, K, partial[group].get(), a_bufs[worker].get(), b_bufs[worker].get());
      }
    });
  }
  // Reduce the partial sums and transpose to HWIO: dw[k·Co + o] = Σ_t partial_t[o·k_pad + k].
  pool.parallel_for(ceil_div(K, 64), [&](int task, int) {
    const int k0 = task * 64, k1 = std::min(K, k0 + 64);
    for (int k = k0; k < k1; k++) {
      float* d = dw + static_cast<long>(k) * Co;
      for (int o = 0; o < Co; o++) {
        float s = 0.f;
        for (int t = 0; t < used; t++) s += partial[t][static_cast<long>(o) * k_pad + k];
        d[o] = s;
      }
    }
  });
}

}  // namespace road
