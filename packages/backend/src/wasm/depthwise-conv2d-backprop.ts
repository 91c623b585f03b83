import {
  backend_util,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  Reshape,
  Reverse,
  Slice,
  Sum,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { pair, withKernels } from './call-kernel.js';
import { fullCorrelationPads } from './conv2d-backprop-input.js';
import { zeroInsert } from './zero-insert.js';

function assertNoDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const [dh, dw] = pair(dilations);
  if (dh !== 1 || dw !== 1) {
    throw new Error(`@road/backend ${kernel}: dilations [${dh}, ${dw}] are not supported (tfjs gradients need 1)`);
  }
}

/**
 * `DepthwiseConv2dNativeBackpropInput` as one forward depthwise conv. Filter W is
 * [KH, KW, C, M] (M = channel multiplier), dy is [N, OH, OW, C·M]; with D = dy zero-inserted by the
 * strides:
 *
 *   dX[n,i,j,c] = Σ_m Σ_{a,b} D[n, i+top−a, j+left−b, c·M+m] · W[a,b,c,m]
 *               = Σ_m depthwise(D, W̃)[n,i,j,c·M+m],  W̃[a,b,c·M+m,0] = W[KH−1−a, KW−1−b, c, m],
 *
 * i.e. a depthwise conv (multiplier 1) with the flipped filter, then a sum over m when M > 1.
 */
export function depthwiseBackpropInputAsConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } =
      attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
    assertNoDilation(DepthwiseConv2dNativeBackpropInput, dilations);
    const info = backend_util.computeConv2DInfo(
      inputShape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      true,
    );
    const [n, h, w, c] = inputShape;
    const [kh, kw, , m] = filter.shape;
    const { strideHeight: sh, strideWidth: sw } = info;
    return withKernels(backend, backendName, (run) => {
      const flipped = run(Reverse, { x: filter }, { dims: [0, 1] });
      const wT = run(Reshape, { x: flipped }, { shape: [kh, kw, c * m, 1] });
      const d = sh > 1 || sw > 1 ? zeroInsert(run, dy, sh, sw) : dy;
      const rows = fullCorrelationPads(h, d.shape[1], kh, info.padInfo.top);
      const cols = fullCorrelationPads(w, d.shape[2], kw, info.padInfo.left);
      let out = run(
        DepthwiseConv2dNative,
        { x: d, filter: wT },
        {
          strides: [1, 1],
          dilations: [1, 1],
          pad: [
            [0, 0],
            [rows.before, rows.after],
            [cols.before, cols.after],
            [0, 0],
          ],
        },
      );
      if (out.shape[1] !== h || out.shape[2] !== w) {
        out = run(Slice, { x: out }, { begin: [0, rows.crop, cols.crop, 0], size: [n, h, w, c * m] });
      }
      if (m === 1) return out;
      const split = run(Reshape, { x: out }, { shape: [n, h, w, c, m] });
      return run(Sum, { x: split }, { axis: [4], keepDims: false });
    });
  };
}

/**
 * `DepthwiseConv2dNativeBackpropFilter` as one forward depthwise conv:
 *
 *   dW[a,b,c,m] = Σ_{n,o,p} xp[n, o·sh+a, p·sw+b, c] · dy[n,o,p,c·M+m].
 *
 * Put the batch into the channels: X̂[0,r,s,n·C+c] = xp[n,r,s,c] and
 * F̂[o,p,n·C+c,m] = dy[n,o,p,c·M+m]; then `depthwise(X̂, F̂)` with stride 1 and dilation (sh, sw)
 * is [1, KH, KW, N·C·M], and a sum over n gives dW.
 */
export function depthwiseBackpropFilterAsConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } =
      attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
    assertNoDilation(DepthwiseConv2dNativeBackpropFilter, dilations);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      true,
    );
    const [n, h, w, c] = x.shape;
    const [kh, kw, , m] = filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const { top, left } = info.padInfo;
    const bottom = (oh - 1) * sh + kh - h - top;
    const right = (ow - 1) * sw + kw - w - left;
    return withKernels(backend, backendName, (run) => {
      let xs = x;
      if (bottom < 0 || right < 0) {
        xs = run(
          Slice,
          { x },
          {
            begin: [0, 0, 0, 0],
            size: [n, h + Math.min(0, bottom), w + Math.min(0, right), c],
          },
        );
      }
      const xT = run(Transpose, { x: xs }, { perm: [1, 2, 0, 3] });
      const xHat = run(Reshape, { x: xT }, { shape: [1, xs.shape[1], xs.shape[2], n * c] });
      const dy5 = run(Reshape, { x: dy }, { shape: [n, oh, ow, c, m] });
      const dyT = run(Transpose, { x: dy5 }, { perm: [1, 2, 0, 3, 4] });
      const fHat = run(Reshape, { x: dyT }, { shape: [oh, ow, n * c, m] });
      const out = run(
        DepthwiseConv2dNative,
        { x: xHat, filter: fHat },
        {
          strides: [1, 1],
          dilations: [sh, sw],
          pad: [
            [0, 0],
            [top, Math.max(0, bottom)],
            [left, Math.max(0, right)],
            [0, 0],
          ],
        },
      );
      const perBatch = run(Reshape, { x: out }, { shape: [kh, kw, n, c * m] });
      const summed = run(Sum, { x: perBatch }, { axis: [2], keepDims: false });
      return run(Reshape, { x: summed }, { shape: [kh, kw, c, m] });
    });
  };
}

/** Kernel configs for both depthwise backward passes on `backendName`. */
export function depthwiseBackpropConfigs(backendName = 'wasm'): KernelConfig[] {
  return [
    {
      kernelName: DepthwiseConv2dNativeBackpropInput,
      backendName,
      kernelFunc: depthwiseBackpropInputAsConv(backendName),
    },
    {
      kernelName: DepthwiseConv2dNativeBackpropFilter,
      backendName,
      kernelFunc: depthwiseBackpropFilterAsConv(backendName),
    },
  ];
}
