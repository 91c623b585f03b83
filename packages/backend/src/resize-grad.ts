import {
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  ResizeBilinearGrad,
  type ResizeBilinearGradAttrs,
  ResizeNearestNeighborGrad,
  type ResizeNearestNeighborGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** Source rows (or columns) one output row reads, with their weights (i1 = i0, w1 = 0 for nearest). */
export interface Tap {
  i0: number;
  i1: number;
  w0: number;
  w1: number;
}

/** tfjs's source/destination scale for one axis (alignCorners maps corner to corner). */
function ratio(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

/**
 * Taps of tfjs's bilinear resize along one axis, exactly as its forward kernels compute them:
 * src = ratio·(o + ½) − ½ with half-pixel centers (PyTorch `align_corners=False`), ratio·o otherwise;
 * rows ⌊src⌋ and ⌈src⌉ clamped to [0, in−1], weights 1 − f and f with f = src − max(0, ⌊src⌋).
 */
export function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Tap[] {
  const r = ratio(inSize, outSize, alignCorners);
  return Array.from({ length: outSize }, (_, o) => {
    const src = halfPixelCenters ? r * (o + 0.5) - 0.5 : r * o;
    const i0 = Math.max(0, Math.floor(src));
    const i1 = Math.min(inSize - 1, Math.ceil(src));
    const f = src - i0;
    return { i0, i1, w0: 1 - f, w1: f };
  });
}

/**
 * Taps of tfjs's nearest-neighbour resize along one axis: src = ratio·(o + ½) with half-pixel
 * centers, ratio·o otherwise; index round(src) with alignCorners, ⌊src⌋ otherwise, clamped.
 */
export function nearestTaps(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Tap[] {
  const r = ratio(inSize, outSize, alignCorners);
  return Array.from({ length: outSize }, (_, o) => {
    const src = halfPixelCenters ? r * (o + 0.5) : r * o;
    let i = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) i = Math.max(0, i);
    return { i0: i, i1: i, w0: 1, w1: 0 };
  });
}

/**
 * Adjoint of a separable resize: dX[n,i,j,c] = Σ_{y,x} A[y,i]·B[x,j]·dY[n,y,x,c], where row y of A
 * (column x of B) holds the taps of output row y (column x). A direct scatter, O(N·OH·OW·C).
 */
export function separableResizeAdjoint(
  dy: ArrayLike<number>,
  dyShape: readonly number[],
  inHeight: number,
  inWidth: number,
  rows: Tap[],
  cols: Tap[],
): Float32Array {
  const [n, oh, ow, c] = dyShape;
  const out = new Float32Array(n * inHeight * inWidth * c);
  const rowStride = inWidth * c;
  for (let b = 0; b < n; b++) {
    const outBase = b * inHeight * rowStride;
    for (let y = 0; y < oh; y++) {
      const r = rows[y];
      const r0 = outBase + r.i0 * rowStride;
      const r1 = outBase + r.i1 * rowStride;
      for (let x = 0; x < ow; x++) {
        const q = cols[x];
        const a = r0 + q.i0 * c;
        const bb = r0 + q.i1 * c;
        const cc = r1 + q.i0 * c;
        const d = r1 + q.i1 * c;
        const w00 = r.w0 * q.w0;
        const w01 = r.w0 * q.w1;
        const w10 = r.w1 * q.w0;
        const w11 = r.w1 * q.w1;
        const src = ((b * oh + y) * ow + x) * c;
        for (let ch = 0; ch < c; ch++) {
          const g = dy[src + ch];
          out[a + ch] += w00 * g;
          out[bb + ch] += w01 * g;
          out[cc + ch] += w10 * g;
          out[d + ch] += w11 * g;
        }
      }
    }
  }
  return out;
}

type Kind = 'bilinear' | 'nearest';

/**
 * Gradient kernel of `tf.image.resizeBilinear` / `resizeNearestNeighbor` that honours
 * `halfPixelCenters`. The tfjs 4.22 cpu and wasm gradient kernels ignore that attribute (their
 * gradient is the one of the `halfPixelCenters: false` resize — wrong for PyTorch-style
 * `align_corners=False` upsampling), and the cpu bilinear one also swaps height and width in its
 * output shape. With `shipped` given and `halfPixelCenters` false, the shipped kernel runs (its
 * values are right; the shape is corrected); otherwise the adjoint is computed by
 * {@link separableResizeAdjoint} on the host with the forward kernels' own taps.
 */
export function resizeGradKernel(kind: Kind, shipped: KernelConfig | undefined): KernelFunc {
  return (args) => {
    const backend = args.backend as KernelBackend;
    const { images, dy } = args.inputs as { images: TensorInfo; dy: TensorInfo };
    const { alignCorners, halfPixelCenters } = args.attrs as unknown as ResizeBilinearGradAttrs &
      ResizeNearestNeighborGradAttrs;
    if (!halfPixelCenters && shipped != null) {
      const out = shipped.kernelFunc(args) as TensorInfo;
      const same = out.shape.length === 4 && out.shape.every((d, i) => d === images.shape[i]);
      return same ? out : { ...out, shape: images.shape.slice() };
    }
    const [, h, w] = images.shape;
    const [, oh, ow] = dy.shape;
    const taps = kind === 'bilinear' ? bilinearTaps : nearestTaps;
    const values = separableResizeAdjoint(
      backend.readSync(dy.dataId) as Float32Array,
      dy.shape,
      h,
      w,
      taps(h, oh, alignCorners, halfPixelCenters),
      taps(w, ow, alignCorners, halfPixelCenters),
    );
    const shape = images.shape.slice();
    return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
  };
}

/** Kernel config of {@link resizeGradKernel} for `backendName`, wrapping the backend's own kernel. */
export function resizeGradConfig(kind: Kind, backendName: string, shipped: KernelConfig | undefined): KernelConfig {
  return {
    kernelName: kind === 'bilinear' ? ResizeBilinearGrad : ResizeNearestNeighborGrad,
    backendName,
    setupFunc: shipped?.setupFunc,
    disposeFunc: shipped?.disposeFunc,
    kernelFunc: resizeGradKernel(kind, shipped),
  };
}
