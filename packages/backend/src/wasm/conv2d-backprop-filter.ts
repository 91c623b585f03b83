import {
  Add,
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  Slice,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { type RunKernel, withKernels } from './call-kernel.js';

/** Throws unless the kernel is asked for channels-last data (the only layout the wasm convs take). */
export function assertNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`@road/backend ${kernel}: dataFormat '${dataFormat}' is not supported; use 'NHWC'`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * `Conv2DBackpropFilter` (the filter gradient dW of a 2-D convolution) computed as ONE forward
 * convolution, so that it runs on the backend's fast forward-conv kernel (XNNPACK on wasm).
 *
 * With `xp` = x zero-padded by the forward pass's (top, left) padding, the forward conv is
 * `y[n,o,p,co] = Σ_{a,b,ci} xp[n, o·sh+a, p·sw+b, ci] · W[a,b,ci,co]`, hence
 *
 *   dW[a,b,ci,co] = Σ_{n,o,p} xp[n, o·sh+a, p·sw+b, ci] · dy[n,o,p,co].
 *
 * Writing X̃[ci,r,s,n] = xp[n,r,s,ci] (transpose [3,1,2,0]) and F̃[o,p,n,co] = dy[n,o,p,co]
 * (transpose [1,2,0,3]) this is `conv2d(X̃, F̃)` with stride 1 and dilation (sh, sw) — the original
 * stride becomes the dilation — batch Ci, input channels N, output [Ci, KH, KW, Co], transposed back
 * to [KH, KW, Ci, Co]. Padding is passed to the conv as explicit (top, bottom', left, right') with
 * bottom' = (OH−1)·sh + KH − H − top so that exactly KH output rows come out (x is cut first when
 * it has rows the forward conv never read).
 *
 * When x and dy together exceed `options.chunkBytes` ({@link DW_CHUNK_BYTES} by default) the sum over output rows
 * is split into bands (each reads only its rows of x and dy, padded as the forward pass was) whose dW are added:
 * the transposed copies and the conv's packed filter then take about `chunkBytes` at a time instead of three
 * copies of x and dy (a 2×320×640×64 layer: ~100 MB instead of ~400 MB at the backward pass's peak).
 */
export function conv2dBackpropFilterAsConv(backendName: string, options: { chunkBytes?: number } = {}): KernelFunc {
  const chunkBytes = options.chunkBytes ?? DW_CHUNK_BYTES;
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    assertNHWC(Conv2DBackpropFilter, dataFormat);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    if (!sameShape(dy.shape, info.outShape)) {
      throw new Error(
        `@road/backend ${Conv2DBackpropFilter}: dy has shape [${dy.shape}], the forward conv of x [${x.shape}] ` +
          `with filter [${filterShape}] gives [${info.outShape}]`,
      );
    }
    const [n, h, w, ci] = x.shape;
    const co = dy.shape[3];
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh } = info;
    const { top, left } = info.padInfo;
    /** dW of output rows [o0, o1) as [Ci, KH, KW, Co] (before the final transpose). */
    const band = (run: RunKernel, o0: number, o1: number): TensorInfo => {
      // Input rows this band reads, in x's coordinates; rows outside x are the forward pass's zero padding.
      const r0 = o0 * sh - top;
      const r1 = (o1 - 1) * sh + kh - top;
      const a = Math.max(0, r0);
      const b = Math.min(h, r1);
      const bandTop = a - r0;
      const bottom = r1 - b;
      const right = (info.outWidth - 1) * sw + kw - w - left;
      let xs = x;
      if (a > 0 || b < h || right < 0) {
        xs = run(Slice, { x }, { begin: [0, a, 0, 0], size: [n, b - a, w + Math.min(0, right), ci] });
      }
      const dys =
        o0 > 0 || o1 < oh ? run(Slice, { x: dy }, { begin: [0, o0, 0, 0], size: [n, o1 - o0, info.outWidth, co] }) : dy;
      const xT = run(Transpose, { x: xs }, { perm: [3, 1, 2, 0] });
      const dyT = run(Transpose, { x: dys }, { perm: [1, 2, 0, 3] });
      return run(
        Conv2D,
        { x: xT, filter: dyT },
        {
          strides: [1, 1],
          dilations: [sh, sw],
          pad: [
            [0, 0],
            [bandTop, bottom],
            [left, Math.max(0, right)],
            [0, 0],
          ],
          dataFormat: 'NHWC',
        },
      );
    };
    // Large inputs: bands of output rows, summed, so the transposed copies (and XNNPACK's packed copy of dyᵀ)
    // stay ~chunkBytes instead of 3× the size of x and dy at once.
    const bands = Math.min(
      oh,
      Math.max(
        1,
        Math.ceil(((x.shape.reduce((p, v) => p * v, 1) + dy.shape.reduce((p, v) => p * v, 1)) * 4) / chunkBytes),
      ),
    );
    if (bands === 1) {
      return withKernels(backend, backendName, (run) =>
        run(Transpose, { x: band(run, 0, oh) }, { perm: [1, 2, 0, 3] }),
      );
    }
    let acc: TensorInfo | null = null;
    try {
      for (let i = 0; i < bands; i++) {
        const o0 = Math.floor((i * oh) / bands);
        const o1 = Math.floor(((i + 1) * oh) / bands);
        const part = withKernels(backend, backendName, (run) => band(run, o0, o1));
        if (acc == null) acc = part;
        else {
          const prev: TensorInfo = acc;
          try {
            acc = withKernels(backend, backendName, (run) => run(Add, { a: prev, b: part }));
          } finally {
            (backend as KernelBackend).disposeData(prev.dataId);
            (backend as KernelBackend).disposeData(part.dataId);
          }
        }
      }
      const sum = acc as TensorInfo;
      return withKernels(backend, backendName, (run) => run(Transpose, { x: sum }, { perm: [1, 2, 0, 3] }));
    } finally {
      if (acc != null) (backend as KernelBackend).disposeData(acc.dataId);
    }
  };
}

/** Above this many bytes of x + dy, {@link conv2dBackpropFilterAsConv} works in bands of output rows. */
export const DW_CHUNK_BYTES = 32 * 2 ** 20;

/** Kernel config: `Conv2DBackpropFilter` on `backendName` as a forward conv (see {@link conv2dBackpropFilterAsConv}). */
export function conv2dBackpropFilterConfig(backendName = 'wasm', options: { chunkBytes?: number } = {}): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName,
    kernelFunc: conv2dBackpropFilterAsConv(backendName, options),
  };
}
