import {
  type KernelConfig,
  type KernelFunc,
  Reverse,
  type ReverseAttrs,
  Slice,
  type SliceAttrs,
  slice_util,
  type TensorInfo,
  Transpose,
  type TransposeAttrs,
  util,
} from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from './backend-wasm.js';

/** dtypes whose data lives in the wasm heap as one typed array (not strings, not complex). */
const HEAP_DTYPES = new Set(['float32', 'int32', 'bool']);

/** Blocks at least this long are copied with `TypedArray.set`, shorter ones element by element. */
const MIN_BLOCK_COPY = 16;

/**
 * Shape and reversed flags with size-1 axes dropped and neighbouring axes of equal flag merged (reversing two
 * adjacent axes is reversing their merged axis): the result alternates reversed / kept.
 */
export function collapseReverse(shape: readonly number[], axes: readonly number[]): { dims: number[]; rev: boolean[] } {
  const dims: number[] = [];
  const rev: boolean[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const r = axes.includes(i);
    if (dims.length > 0 && rev[rev.length - 1] === r) dims[dims.length - 1] *= shape[i];
    else {
      dims.push(shape[i]);
      rev.push(r);
    }
  }
  return { dims, rev };
}

/** `dst = reverse(src)` for a collapsed shape (see {@link collapseReverse}); row-major, contiguous. */
function reverseInto(
  src: ReturnType<WasmBackendInternals['typedArrayFromHeap']>,
  dst: ReturnType<WasmBackendInternals['typedArrayFromHeap']>,
  dims: number[],
  rev: boolean[],
): void {
  const rank = dims.length;
  const size = dims.reduce((a, b) => a * b, 1);
  // Trailing kept axis = contiguous block; at least one reversed axis precedes it (else there is nothing to do).
  const block = rev[rank - 1] ? 1 : dims[rank - 1];
  const outer = rev[rank - 1] ? rank : rank - 1;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * dims[i + 1];
  const last = outer - 1;
  const n = dims[last];
  const lastRev = rev[last];
  const lastStride = strides[last];
  const idx = new Array<number>(Math.max(0, last)).fill(0);
  let o = 0;
  while (o < size) {
    let base = 0;
    for (let i = 0; i < last; i++) base += (rev[i] ? dims[i] - 1 - idx[i] : idx[i]) * strides[i];
    for (let j = 0; j < n; j++) {
      const s = base + (lastRev ? n - 1 - j : j) * lastStride;
      if (block === 1) dst[o++] = src[s];
      else if (block < MIN_BLOCK_COPY) for (let k = 0; k < block; k++) dst[o++] = src[s + k];
      else {
        dst.set(src.subarray(s, s + block), o);
        o += block;
      }
    }
    for (let i = last - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
}

/**
 * `Reverse` on wasm as row-major block copies in JavaScript on the wasm heap. The shipped kernel computes every
 * element's source index in a generic loop (≈ 25 ns per element: 0.9 ms for a 3×3×64×64 filter, which each
 * `Conv2DBackpropInput` flips); with the axes collapsed (size-1 axes dropped, neighbours with the same flag
 * merged), the trailing kept axes are one contiguous block, copied whole.
 * Other dtypes than float32/int32/bool go to the shipped kernel.
 */
export function reverseConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { dims } = args.attrs as unknown as ReverseAttrs;
    if (!HEAP_DTYPES.has(x.dtype) || x.shape.length === 0) return shipped.kernelFunc(args);
    const axes = util.parseAxisParam(dims, x.shape);
    const backend = args.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(x.shape.slice(), x.dtype);
    // Views after makeOutput: a heap growth detaches older views.
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const { dims: cd, rev } = collapseReverse(x.shape, axes);
    if (!rev.includes(true)) dst.set(src);
    else reverseInto(src, dst, cd, rev);
    return out;
  };
  return {
    kernelName: Reverse,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}

/**
 * A transpose with size-1 axes dropped and input axes that stay neighbours in the output merged:
 * `transpose(x, perm)` = `transpose(reshape(x, shape), perm')`.
 */
export function collapseTranspose(
  inShape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  // Kept (size > 1) input axes, renumbered 0..k−1 so that neighbours across a dropped axis count as neighbours.
  const compact = new Map<number, number>();
  for (let i = 0; i < inShape.length; i++) if (inShape[i] !== 1) compact.set(i, compact.size);
  const keptShape = inShape.filter((d) => d !== 1);
  // Runs of consecutive input axes in output order.
  const runs: number[][] = [];
  for (const p of perm) {
    const q = compact.get(p);
    if (q == null) continue;
    const run = runs[runs.length - 1];
    if (run != null && run[run.length - 1] + 1 === q) run.push(q);
    else runs.push([q]);
  }
  // The runs ordered by input position give the collapsed input shape; perm' maps output runs to them.
  const byInput = [...runs].sort((a, b) => a[0] - b[0]);
  const shape = byInput.map((run) => run.reduce((a, i) => a * keptShape[i], 1));
  return { shape, perm: runs.map((run) => byInput.indexOf(run)) };
}

/** `dst = transpose(src, perm)` of a row-major `shape`, in JavaScript (output order, innermost axis as the loop). */
function transposeInto(
  src: ReturnType<WasmBackendInternals['typedArrayFromHeap']>,
  dst: ReturnType<WasmBackendInternals['typedArrayFromHeap']>,
  shape: number[],
  perm: number[],
): void {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  inStrides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const outDims = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  const size = outDims.reduce((a, b) => a * b, 1);
  const n = outDims[rank - 1];
  const step = strides[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  let o = 0;
  let base = 0;
  while (o < size) {
    for (let j = 0, s = base; j < n; j++, s += step) dst[o++] = src[s];
    for (let i = rank - 2; i >= 0; i--) {
      base += strides[i];
      if (++idx[i] < outDims[i]) break;
      base -= strides[i] * outDims[i];
      idx[i] = 0;
    }
  }
}

/**
 * `Transpose` on wasm: the axes are collapsed first ({@link collapseTranspose}); up to rank 4 the shipped
 * kernel runs on the collapsed view (its fast specialised loops), above rank 4 a JavaScript loop does it — the
 * shipped generic path takes ≈ 45 ns per element (1.5 ms for a rank-6 view of a 3×3×32×64 filter; it is also
 * inside `SpaceToBatchND` / `BatchToSpaceND`).
 */
export function transposeConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { perm } = args.attrs as unknown as TransposeAttrs;
    if (!HEAP_DTYPES.has(x.dtype) || x.shape.length === 0) return shipped.kernelFunc(args);
    const outShape = perm.map((p) => x.shape[p]);
    const c = collapseTranspose(x.shape, perm);
    if (c.shape.length <= 4) {
      const out = shipped.kernelFunc({
        ...args,
        inputs: { x: { ...x, shape: c.shape } },
        attrs: { perm: c.perm },
      }) as TensorInfo;
      out.shape = outShape;
      return out;
    }
    const backend = args.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(outShape, x.dtype);
    transposeInto(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out), c.shape, c.perm);
    return out;
  };
  return {
    kernelName: Transpose,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}

/**
 * A slice with every axis that is taken whole merged into the axis before it (row ranges of an NHWC tensor become
 * one range per image): `slice(x, begin, size)` = `slice(reshape(x, shape), begin', size')`.
 */
export function collapseSlice(
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): { shape: number[]; begin: number[]; size: number[] } {
  const out = { shape: [shape[0]], begin: [begin[0]], size: [size[0]] };
  for (let i = 1; i < shape.length; i++) {
    const whole = begin[i] === 0 && size[i] === shape[i];
    const k = out.shape.length - 1;
    if (whole) {
      out.shape[k] *= shape[i];
      out.begin[k] *= shape[i];
      out.size[k] *= shape[i];
    } else {
      out.shape.push(shape[i]);
      out.begin.push(begin[i]);
      out.size.push(size[i]);
    }
  }
  return out;
}

/**
 * `Slice` on wasm with whole trailing axes merged first ({@link collapseSlice}). The shipped kernel copies one
 * innermost row at a time (`TypedArray.set` per row): for a band of rows of an NHWC tensor that is one call per
 * pixel row of C values; merged, it is one call per image.
 */
export function sliceConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!HEAP_DTYPES.has(x.dtype) || x.shape.length < 2) return shipped.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as SliceAttrs;
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size);
    const c = collapseSlice(x.shape, b, s);
    if (c.shape.length === x.shape.length) return shipped.kernelFunc(args);
    const out = shipped.kernelFunc({
      ...args,
      inputs: { x: { ...x, shape: c.shape } },
      attrs: { begin: c.begin, size: c.size },
    }) as TensorInfo;
    out.shape = s;
    return out;
  };
  return {
    kernelName: Slice,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}
