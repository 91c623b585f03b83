// NHWC float32 2-D convolution kernels (filter HWIO, as tfjs) on a packed SGEMM.
#pragma once
#include <cstdint>

namespace road {

class ThreadPool;

/** Geometry of one convolution y = conv(x, W): x [n,h,w,ci], W [kh,kw,ci,co], y [n,oh,ow,co]. */
struct ConvGeom {
  int n, h, w, ci;
  int oh, ow, co;
  int kh, kw;
  int sh, sw;  // strides
  int dh, dw;  // dilations
  int top, left;  // padding before the first row / column
};

/** Which micro-kernel the GEMM uses. */
enum class Isa { kGeneric, kAvx2 };

Isa detect_isa();
const char* isa_name(Isa isa);

/** y = act(conv(x, W) + bias); bias may be null; relu applies max(0, ·). */
void conv2d_forward(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* x, const float* w, const float* bias,
                    bool relu, float* y);

/** dx = ∂L/∂x given dy = ∂L/∂y (dx is overwritten). */
void conv2d_backprop_input(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* dy, const float* w, float* dx);

/** dw = ∂L/∂W given x and dy (dw is overwritten). */
void conv2d_backprop_filter(ThreadPool& pool, Isa isa, const ConvGeom& g, const float* x, const float* dy, float* dw);

}  // namespace road
