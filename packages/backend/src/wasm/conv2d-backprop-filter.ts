import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  Slice,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { withKernels } from './call-kernel.js';

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
 */
export function conv2dBackpropFilterAsConv(backendName: string): KernelFunc {
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
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const { top, left } = info.padInfo;
    const needH = (info.outHeight - 1) * sh + kh;
    const needW = (info.outWidth - 1) * sw + kw;
    const bottom = needH - h - top;
    const right = needW - w - left;
    return withKernels(backend, backendName, (run) => {
      let xs = x;
      if (bottom < 0 || right < 0) {
        xs = run(Slice, { x }, {
          begin: [0, 0, 0, 0],
          size: [n, h + Math.min(0, bottom), w + Math.min(0, right), ci],
        });
      }
      const xT = run(Transpose, { x: xs }, { perm: [3, 1, 2, 0] });
      const dyT = run(Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
      const out = run(Conv2D, { x: xT, filter: dyT }, {
        strides: [1, 1],
        dilations: [sh, sw],
        pad: [
          [0, 0],
          [top, Math.max(0, bottom)],
          [left, Math.max(0, right)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      });
      return run(Transpose, { x: out }, { perm: [1, 2, 0, 3] });
    });
  };
}

/** Kernel config: `Conv2DBackpropFilter` on `backendName` as a forward conv (see {@link conv2dBackpropFilterAsConv}). */
export function conv2dBackpropFilterConfig(backendName = 'wasm'): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName,
    kernelFunc: conv2dBackpropFilterAsConv(backendName),
  };
}
