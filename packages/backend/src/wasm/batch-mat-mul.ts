import {
  BatchMatMul,
  type BatchMatMulAttrs,
  Conv2D,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { nativeFallbackKernel } from '../native/register-native.js';
import { type RunKernel, withKernels } from './call-kernel.js';

/**
 * Below this many multiply-adds a single product stays on the shipped kernel: the spatial heads' ~100×64×64 products
 * measured 2–3× slower through the native pool (wake-up and packing dominate), the upsampling's 16×128×4864 5× faster.
 */
export const NATIVE_MATMUL_MIN_MACS = 1 << 21;
/** Thinner inner dimensions stay on the shipped kernel (measured slower through the conv's packing). */
export const NATIVE_MATMUL_MIN_INNER = 16;

/**
 * One product a[1,M,K]·b[1,K,N] as a 1×1 convolution x[1,1,M,K] * W[1,1,K,N] through the registered `Conv2D`,
 * which is @road/native's multi-threaded GEMM when it is loaded (4–10× XNNPACK's single-threaded matMul on these
 * shapes). Returns null when the product is not of that form or too small.
 */
function matMulAsNativeConv(run: RunKernel, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (nativeFallbackKernel(Conv2D) == null) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== b.shape.length) return null;
  if (a.shape.length !== 2 && a.shape.length !== 3) return null;
  // Rank 2 (as the engine passes tf.matMul of matrices) or rank 3 with batch 1.
  const [ba, m, k] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [bb, k2, n] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  if (
    ba !== 1 ||
    bb !== 1 ||
    k !== k2 ||
    k < NATIVE_MATMUL_MIN_INNER ||
    m < NATIVE_MATMUL_MIN_INNER ||
    m * n * k < NATIVE_MATMUL_MIN_MACS
  )
    return null;
  const x = run('Reshape', { x: a }, { shape: [1, 1, m, k] });
  const w = run('Reshape', { x: b }, { shape: [1, 1, k, n] });
  const y = run(Conv2D, { x, filter: w }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
  return run('Reshape', { x: y }, { shape: a.shape.length === 3 ? [1, m, n] : [m, n] });
}

/** Permutation swapping the last two axes of a rank-`rank` tensor. */
function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/**
 * `BatchMatMul` on wasm with `transposeA` / `transposeB` done as an explicit `Transpose` first. The shipped
 * kernel's transposed paths are ~12× slower than its plain one (a^T·b with a [128,16], b [128,4864]: 6.9 ms
 * vs 0.5 ms with the transpose), and every matMul gradient asks for a transposed operand (dA = dy·bᵀ,
 * dB = aᵀ·dy). The product is the same; only the summation order inside the GEMM may differ (float32 rounding).
 */
export function batchMatMulConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const native = nativeFallbackKernel(Conv2D) != null;
    if (!transposeA && !transposeB && !native) return shipped.kernelFunc(args);
    return withKernels(args.backend, shipped.backendName, (run) => {
      const a2 = transposeA ? run(Transpose, { x: a }, { perm: swapLastTwo(a.shape.length) }) : a;
      const b2 = transposeB ? run(Transpose, { x: b }, { perm: swapLastTwo(b.shape.length) }) : b;
      const viaConv = native ? matMulAsNativeConv(run, a2, b2) : null;
      if (viaConv) return viaConv;
      if (a2 === a && b2 === b) return shipped.kernelFunc(args) as TensorInfo;
      const out = shipped.kernelFunc({
        ...args,
        inputs: { a: a2, b: b2 },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
      return out;
    });
  };
  return {
    kernelName: BatchMatMul,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}
