import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { withKernels } from './call-kernel.js';

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
    if (!transposeA && !transposeB) return shipped.kernelFunc(args);
    return withKernels(args.backend, shipped.backendName, (run) => {
      const a2 = transposeA ? run(Transpose, { x: a }, { perm: swapLastTwo(a.shape.length) }) : a;
      const b2 = transposeB ? run(Transpose, { x: b }, { perm: swapLastTwo(b.shape.length) }) : b;
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
