import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  PadV2,
  Reshape,
  Reverse,
  Slice,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core';
import { type RunKernel, withKernels } from './call-kernel.js';
import { assertNHWC } from './conv2d-backprop-filter.js';
import { zeroInsert } from './zero-insert.js';

/**
 * Pads for a stride-1 "full" correlation that maps a (zero-inserted) gradient of height `hd` back to
 * an input of height `h`: top `kh−1−padTop`, bottom `h+kh−1−hd−top`. Negative pads are clamped to
 * 0 and reported as an output crop.
 */
export function fullCorrelationPads(
  h: number,
  hd: number,
  kh: number,
  padTop: number,
): { before: number; after: number; crop: number } {
  const before = kh - 1 - padTop;
  const after = h + kh - 1 - hd - before;
  return { before: Math.max(0, before), after: Math.max(0, after), crop: Math.max(0, -before) };
}

/** How {@link conv2dBackpropInputAsConv} handles strides > 1. */
export type StridedBackpropInput = 'polyphase' | 'zero-insert';

interface Geometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
  oh: number;
  ow: number;
}

/**
 * Stride-s dX without the zero insertion, as ONE stride-1 conv plus a depth-to-space interleave (square strides
 * sh = sw = s). Output row r = i + top splits into the phase φ = r mod s and q = ⌊r / s⌋; only the
 * taps a = φ + s·t reach it:
 *
 *   dX[r] = Σ_{t=0}^{T−1} dy[q − t] · W[φ + s·t],   T = ⌈KH / s⌉ (W zero-extended to T·s rows).
 *
 * So all s² phases are one conv of the un-inserted dy with a T×U filter whose s²·Ci output channels
 * are the phases' sub-filters — G[T−1−t, U−1−u, co, (φ·s+ψ)·Ci+ci] = W[φ+s·t, ψ+s·u, ci, co] — and a
 * depth-to-space step interleaves the phases: out[n, q·s+φ, p·s+ψ, ci] = conv[n, q, p, (φ·s+ψ)·Ci+ci].
 * A final slice keeps rows r ∈ [top, top+H). Work: T·U·s² taps per output pixel instead of KH·KW
 * (3×3, s = 2: 16/9) — versus s²·KH·KW/… for zero insertion (4×).
 * Returns null when the geometry does not fit (non-square strides, or a pad the conv cannot take).
 */
function phaseStackedBackpropInput(run: RunKernel, dy: TensorInfo, filter: TensorInfo, g: Geometry): TensorInfo | null {
  if (g.sh !== g.sw) return null;
  const s = g.sh;
  const t = Math.ceil(g.kh / s);
  const u = Math.ceil(g.kw / s);
  const q0 = Math.floor(g.top / s);
  const rowsQ = Math.floor((g.top + g.h - 1) / s) - q0 + 1;
  const p0 = Math.floor(g.left / s);
  const colsP = Math.floor((g.left + g.w - 1) / s) - p0 + 1;
  const pads = [t - 1 - q0, q0 + rowsQ - g.oh, u - 1 - p0, p0 + colsP - g.ow];
  if (pads.some((p) => p < 0)) return null;
  const ext = run(
    PadV2,
    { x: filter },
    {
      paddings: [
        [0, t * s - g.kh],
        [0, u * s - g.kw],
        [0, 0],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const split = run(Reshape, { x: ext }, { shape: [t, s, u, s, g.ci, g.co] });
  const flipped = run(Reverse, { x: split }, { dims: [0, 2] });
  const ordered = run(Transpose, { x: flipped }, { perm: [0, 2, 5, 1, 3, 4] });
  const stacked = run(Reshape, { x: ordered }, { shape: [t, u, g.co, s * s * g.ci] });
  const phases = run(
    Conv2D,
    { x: dy, filter: stacked },
    {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  // DepthToSpace(s) as reshape → rank-4 transpose → reshape (the wasm DepthToSpace kernel is ~50× slower):
  // [N·Q, P, s(φ), s·Ci] → [N·Q, s(φ), P, s·Ci] = [N, Q·s, P·s, Ci] in memory order.
  const grouped = run(Reshape, { x: phases }, { shape: [g.n * rowsQ, colsP, s, s * g.ci] });
  const swapped = run(Transpose, { x: grouped }, { perm: [0, 2, 1, 3] });
  const interleaved = run(Reshape, { x: swapped }, { shape: [g.n, rowsQ * s, colsP * s, g.ci] });
  const cropTop = g.top - q0 * s;
  const cropLeft = g.left - p0 * s;
  if (cropTop === 0 && cropLeft === 0 && rowsQ * s === g.h && colsP * s === g.w) return interleaved;
  return run(Slice, { x: interleaved }, { begin: [0, cropTop, cropLeft, 0], size: [g.n, g.h, g.w, g.ci] });
}

/**
 * `Conv2DBackpropInput` (the input gradient dX of a 2-D convolution, also the forward pass of
 * `conv2dTranspose`) computed with the backend's fast forward conv kernel.
 *
 * With D = dy zero-inserted by the strides (D[n, o·sh, p·sw, co] = dy[n,o,p,co], 0 elsewhere):
 *
 *   dX[n,i,j,ci] = Σ_{a,b,co} D[n, i+top−a, j+left−b, co] · W[a,b,ci,co]
 *                = conv2d(D, W̃)[n,i,j,ci],  W̃[a,b,co,ci] = W[KH−1−a, KW−1−b, ci, co],
 *
 * a stride-1 conv with the spatially flipped, in/out-swapped filter and explicit padding
 * (KH−1−top) above and (H+KH−1−Hd−(KH−1−top)) below (likewise for columns). Stride 1 is exactly
 * that (no zero insertion). For stride s > 1 the default `strided: 'polyphase'` computes the s² output phases from the
 * un-inserted dy (one conv with a phase-stacked filter and a depth-to-space interleave, see
 * {@link phaseStackedBackpropInput}; falls back to zero insertion for non-square strides); `'zero-insert'` runs the single conv on D (s² times the FLOPs).
 */
export function conv2dBackpropInputAsConv(
  backendName: string,
  strided: StridedBackpropInput = 'polyphase',
): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
    assertNHWC(Conv2DBackpropInput, dataFormat);
    const info = backend_util.computeConv2DInfo(
      inputShape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const [n, h, w, ci] = inputShape;
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const [, oh, ow, co] = dy.shape;
    if (oh !== info.outHeight || ow !== info.outWidth) {
      throw new Error(
        `@road/backend ${Conv2DBackpropInput}: dy has shape [${dy.shape}], the forward conv of an input ` +
          `[${inputShape}] with filter [${filter.shape}] gives [${info.outShape}]`,
      );
    }
    const { top, left } = info.padInfo;
    return withKernels(backend, backendName, (run) => {
      if ((sh > 1 || sw > 1) && strided === 'polyphase') {
        const geometry = { n, h, w, ci, co, kh, kw, sh, sw, top, left, oh, ow };
        const out = phaseStackedBackpropInput(run, dy, filter, geometry);
        if (out != null) return out;
      }
      const flipped = run(Reverse, { x: filter }, { dims: [0, 1] });
      const wT = run(Transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
      const d = sh > 1 || sw > 1 ? zeroInsert(run, dy, sh, sw) : dy;
      const rows = fullCorrelationPads(h, d.shape[1], kh, top);
      const cols = fullCorrelationPads(w, d.shape[2], kw, left);
      const out = run(
        Conv2D,
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
          dataFormat: 'NHWC',
        },
      );
      if (out.shape[1] === h && out.shape[2] === w) return out;
      return run(Slice, { x: out }, { begin: [0, rows.crop, cols.crop, 0], size: [n, h, w, ci] });
    });
  };
}

/** Kernel config: `Conv2DBackpropInput` on `backendName` as a forward conv (see {@link conv2dBackpropInputAsConv}). */
export function conv2dBackpropInputConfig(
  backendName = 'wasm',
  strided: StridedBackpropInput = 'polyphase',
): KernelConfig {
  return {
    kernelName: Conv2DBackpropInput,
    backendName,
    kernelFunc: conv2dBackpropInputAsConv(backendName, strided),
  };
}
