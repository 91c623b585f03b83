import {
  GatherV2,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  Reshape,
  ScatterNd,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { withKernels } from './call-kernel.js';

/**
 * `UnsortedSegmentSum` (the gradient of `gather`) as one ScatterNd, which adds updates that share
 * an index:
 *
 *   out[s, …] = Σ_{i : ids[i] = s} x[i, …],  s = 0 … numSegments−1,
 *
 * = scatterND(indices = ids as [n, 1], updates = x, shape = [numSegments, …]). Ids outside
 * [0, numSegments) contribute nothing (as on the cpu backend): those rows are dropped with a
 * GatherV2 first. `segmentIds` must be 1-D with one id per row of x (how `gather`'s gradient calls it).
 */
export function unsortedSegmentSumAsScatter(backendName: string): KernelFunc {
  return ({ inputs, backend: kernelBackend, attrs }) => {
    const backend = kernelBackend as KernelBackend;
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
    if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
      throw new Error(
        `@road/backend ${UnsortedSegmentSum}: segmentIds must be 1-D with x.shape[0] = ${x.shape[0]} ids, ` +
          `got shape [${segmentIds.shape}]`,
      );
    }
    const ids = backend.readSync(segmentIds.dataId) as Int32Array;
    const keep: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 0 && ids[i] < numSegments) keep.push(i);
    const written: TensorInfo[] = [];
    const write = (values: Int32Array, shape: number[]): TensorInfo => {
      const t = { dataId: backend.write(values, shape, 'int32'), shape, dtype: 'int32' as const };
      written.push(t);
      return t;
    };
    try {
      return withKernels(backend, backendName, (run) => {
        let updates = x;
        let indices: TensorInfo;
        if (keep.length === ids.length) {
          indices = run(Reshape, { x: segmentIds }, { shape: [ids.length, 1] });
        } else {
          updates = run(
            GatherV2,
            { x, indices: write(Int32Array.from(keep), [keep.length]) },
            { axis: 0, batchDims: 0 },
          );
          indices = write(
            Int32Array.from(keep, (i) => ids[i]),
            [keep.length, 1],
          );
        }
        return run(ScatterNd, { indices, updates }, { shape: [numSegments, ...x.shape.slice(1)] });
      });
    } finally {
      for (const t of written) backend.disposeData(t.dataId);
    }
  };
}

/** Kernel config: `UnsortedSegmentSum` on `backendName` (see {@link unsortedSegmentSumAsScatter}). */
export function unsortedSegmentSumConfig(backendName = 'wasm'): KernelConfig {
  return { kernelName: UnsortedSegmentSum, backendName, kernelFunc: unsortedSegmentSumAsScatter(backendName) };
}
