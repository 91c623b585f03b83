import {
  GatherV2,
  type GatherV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from './backend-wasm.js';

const BYTES: Partial<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * `GatherV2` on wasm (batchDims 0, any axis) as block copies inside the wasm heap: for each of the
 * prod(shape[:axis]) outer slices and each index, one `copyWithin` of the prod(shape[axis+1:]) trailing values.
 * The shipped kernel copies element by element (1.5 ms for the spatial-aware loss's [1024, 64] row gather; this
 * is ~0.05 ms). Indices outside [0, shape[axis]) throw, naming the index; other cases (batchDims > 0, string or
 * complex data) go to the shipped kernel. Values are copied bit for bit.
 */
export function gatherRowsConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis: axisAttr, batchDims = 0 } = args.attrs as unknown as GatherV2Attrs;
    const bytes = BYTES[x.dtype];
    if (batchDims !== 0 || bytes == null || (indices.dtype !== 'int32' && indices.dtype !== 'float32'))
      return shipped.kernelFunc(args);
    const rank = x.shape.length;
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    if (!(axis >= 0 && axis < rank)) return shipped.kernelFunc(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const outer = x.shape.slice(0, axis).reduce((a, d) => a * d, 1);
    const dim = x.shape[axis];
    const inner = x.shape.slice(axis + 1).reduce((a, d) => a * d, 1);
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const out = backend.makeOutput(outShape, x.dtype);
    const n = indices.shape.reduce((a, d) => a * d, 1);
    if (outer * n * inner === 0) return out;
    // Views only after makeOutput (it may grow the heap).
    const idx = backend.typedArrayFromHeap(indices);
    for (let j = 0; j < n; j++) {
      const v = idx[j];
      if (!(v >= 0 && v < dim && Number.isInteger(v)))
        throw new Error(
          `@road/backend GatherV2: index ${v} (position ${j}) is outside [0, ${dim}) for axis ${axis} of x [${x.shape}]`,
        );
    }
    const heap = backend.wasm.HEAPU8;
    const src = backend.dataIdMap.get(x.dataId)!.memoryOffset;
    const dst = backend.dataIdMap.get(out.dataId)!.memoryOffset;
    const block = inner * bytes;
    let d = dst;
    for (let o = 0; o < outer; o++) {
      const base = src + o * dim * block;
      for (let j = 0; j < n; j++) {
        const s = base + idx[j] * block;
        heap.copyWithin(d, s, s + block);
        d += block;
      }
    }
    return out;
  };
  return {
    kernelName: GatherV2,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}
