import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_DILATED_FILTER_GRAD } from './native/native-conv.js';

/**
 * Marker on a registered `Conv2D` gradient config that differentiates dilated convolutions
 * (`tf.getGradient('Conv2D')[DILATED_CONV2D_GRADIENT] === true`). A well-known `Symbol.for` key, so
 * packages that do not depend on `@road/backend` (e.g. `@road/backbone`'s `atrousConv2d`) can test for
 * the capability without importing it.
 */
export const DILATED_CONV2D_GRADIENT: unique symbol = Symbol.for('@road/backend:conv2d-gradient-dilations') as never;

type T4 = tf.Tensor4D;
type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

function allOne(v: number | number[] | undefined): boolean {
  if (v == null) return true;
  return typeof v === 'number' ? v === 1 : v.every((d) => d === 1);
}

/**
 * Stride-1 "full correlation" pads mapping an output of `outLen` back to `len` input positions through a
 * kernel of effective size `eff` = d·(K−1)+1 placed `before` positions early: before = eff−1−padBefore,
 * after = len+eff−1−outLen−before. Negative pads are clamped to 0 and returned as a crop.
 */
function fullPads(len: number, outLen: number, eff: number, padBefore: number) {
  const before = eff - 1 - padBefore;
  const after = len + eff - 1 - outLen - before;
  return { before: Math.max(0, before), after: Math.max(0, after), crop: Math.max(0, -before) };
}

/**
 * dX of a stride-1 conv with dilation (dh, dw), as ONE forward conv (same dilation) of dy with the spatially
 * flipped, in/out-swapped filter:
 *
 *   y[n,i,j,co]  = Σ_{a,b,ci} x[n, i + dh·a − top, j + dw·b − left, ci] · W[a,b,ci,co]
 *   dX[n,r,s,ci] = Σ_{a,b,co} dy[n, r + top − dh·a, s + left − dw·b, co] · W[a,b,ci,co]
 *                = conv2d(dy, W̃, dilation (dh, dw))[n,r,s,ci],   W̃[a,b,co,ci] = W[KH−1−a, KW−1−b, ci, co],
 *
 * padded dh·(KH−1) − top above and dh·(KH−1) − bottom below (likewise for columns).
 */
export function dilatedConv2dInputGrad(
  xShape: [number, number, number, number],
  dy: T4,
  filter: T4,
  dilations: [number, number],
  padInfo: { top: number; left: number },
): T4 {
  return tf.tidy(() => {
    const [n, h, w, ci] = xShape;
    const [kh, kw] = filter.shape;
    const [dh, dw] = dilations;
    const rows = fullPads(h, dy.shape[1], dh * (kh - 1) + 1, padInfo.top);
    const cols = fullPads(w, dy.shape[2], dw * (kw - 1) + 1, padInfo.left);
    const wT = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as T4;
    const pad: ExplicitPad = [
      [0, 0],
      [rows.before, rows.after],
      [cols.before, cols.after],
      [0, 0],
    ];
    const out = tf.conv2d(dy, wT, 1, pad, 'NHWC', [dh, dw]);
    if (out.shape[1] === h && out.shape[2] === w) return out;
    return tf.slice(out, [0, rows.crop, cols.crop, 0], [n, h, w, ci]);
  });
}

/**
 * dW of a stride-1 conv with dilation (dh, dw), as ONE forward conv whose stride is the dilation:
 *
 *   dW[a,b,ci,co] = Σ_{n,o,p} xp[n, o + dh·a, p + dw·b, ci] · dy[n,o,p,co]
 *                 = conv2d( X̃ = transpose(x, [3,1,2,0]) : [Ci, H, W, N],
 *                           F̃ = transpose(dy, [1,2,0,3]) : [OH, OW, N, Co],
 *                           stride (dh, dw), pads (top, bottom), (left, right) )[ci,a,b,co]  → transpose [1,2,0,3]
 *
 * (xp = x padded as in the forward pass; OH = H + top + bottom − dh·(KH−1), so exactly KH rows come out.)
 */
export function dilatedConv2dFilterGrad(
  x: T4,
  dy: T4,
  filterShape: [number, number, number, number],
  dilations: [number, number],
  padInfo: { top: number; bottom: number; left: number; right: number },
): T4 {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const [dh, dw] = dilations;
    const [, h, w] = x.shape;
    const [, oh, ow] = dy.shape;
    // Rows the forward conv read: (KH−1)·dh + OH from the padded input; pad (or cut) x's bottom/right to that.
    const bottom = (kh - 1) * dh + oh - h - padInfo.top;
    const right = (kw - 1) * dw + ow - w - padInfo.left;
    let xs = x;
    if (bottom < 0 || right < 0) {
      xs = tf.slice(x, [0, 0, 0, 0], [-1, h + Math.min(0, bottom), w + Math.min(0, right), -1]);
    }
    const xT = tf.transpose(xs, [3, 1, 2, 0]) as T4;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as T4;
    const pad: ExplicitPad = [
      [0, 0],
      [padInfo.top, Math.max(0, bottom)],
      [padInfo.left, Math.max(0, right)],
      [0, 0],
    ];
    const out = tf.conv2d(xT, dyT, [dh, dw], pad, 'NHWC', 1);
    return tf.transpose(out, [1, 2, 0, 3]) as T4;
  });
}

/**
 * Gradient config for the `Conv2D` kernel that also differentiates dilated convolutions (tfjs 4.22's refuses
 * dilation > 1: "dilation rates greater than 1 are not yet supported in gradients").
 *
 * - dilation 1: exactly tfjs's gradient (`original`, the config registered before), i.e. the
 *   `Conv2DBackpropInput` / `Conv2DBackpropFilter` kernels;
 * - dilation (dh, dw) > 1 (tfjs allows it only with stride 1): dX by {@link dilatedConv2dInputGrad} and dW by
 *   {@link dilatedConv2dFilterGrad}, each one forward `Conv2D` (+ transposes), so it runs on every backend and,
 *   on wasm, on XNNPACK.
 *
 * Carries the {@link DILATED_CONV2D_GRADIENT} marker.
 */
export function dilatedConv2dGradConfig(original?: tf.GradConfig): tf.GradConfig {
  const config: tf.GradConfig & { [DILATED_CONV2D_GRADIENT]: true } = {
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [T4, T4];
      const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
      if (allOne(dilations) && original != null) return original.gradFunc(dy, saved, attrs);
      if (dataFormat != null && dataFormat !== 'NHWC') {
        throw new Error(
          `@road/backend Conv2D gradient: dataFormat '${dataFormat}' with dilations [${dilations}] is not supported; use 'NHWC'`,
        );
      }
      if (!allOne(strides) && !allOne(dilations)) {
        throw new Error(
          `@road/backend Conv2D gradient: strides [${strides}] and dilations [${dilations}] are both > 1`,
        );
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape,
        filter.shape,
        strides,
        dilations ?? 1,
        pad,
        dimRoundingMode,
        false,
        'channelsLast',
      );
      const d: [number, number] = [info.dilationHeight, info.dilationWidth];
      if (info.strideHeight !== 1 || info.strideWidth !== 1) {
        // Only reached without an original (dilation 1, stride > 1): the backprop kernels do it.
        return {
          x: () => tf.conv2dTranspose(dy as T4, filter, x.shape, strides, pad as never, dimRoundingMode),
          filter: () =>
            tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dy as T4 }, {
              strides,
              pad,
              dataFormat: 'NHWC',
              dimRoundingMode,
              filterShape: filter.shape,
            } as never) as T4,
        };
      }
      // With road's native filter gradient registered (it honours `dilations`), dW is one kernel call.
      const dwKernel = tf.getKernel(tf.Conv2DBackpropFilter, tf.getBackend()) as
        | (tf.KernelConfig & { [NATIVE_DILATED_FILTER_GRAD]?: boolean })
        | undefined;
      const nativeDw = dwKernel?.[NATIVE_DILATED_FILTER_GRAD] === true;
      return {
        x: () => dilatedConv2dInputGrad(x.shape, dy as T4, filter, d, info.padInfo),
        filter: () =>
          nativeDw
            ? (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dy as T4 }, {
                strides: 1,
                pad,
                dataFormat: 'NHWC',
                dimRoundingMode,
                filterShape: filter.shape,
                dilations: d,
              } as never) as T4)
            : dilatedConv2dFilterGrad(x, dy as T4, filter.shape, d, info.padInfo),
      };
    },
    [DILATED_CONV2D_GRADIENT]: true,
  };
  return config;
}
