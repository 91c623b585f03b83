import {
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Runs one registered kernel of `backendName` directly (no engine, no tape, no profiler), the way the
 * tfjs backends compose their own kernels. Returns the kernel's single output.
 */
export type RunKernel = (
  kernelName: string,
  inputs: NamedTensorInfoMap | TensorInfo[],
  attrs?: NamedAttrMap,
) => TensorInfo;

/**
 * A small `tidy` for kernels made of other kernels: `body` receives `run`, which calls a registered
 * kernel of `backendName` on TensorInfos. Every output made through `run` is released with
 * `backend.disposeData` when `body` returns or throws — except the one `body` returns, which becomes
 * the composite kernel's output (the engine wraps it in a Tensor).
 *
 * Inputs of the composite kernel must never be returned as they are (the engine would not take a
 * reference on them); return a fresh output instead.
 */
export function withKernels(
  kernelBackend: object,
  backendName: string,
  body: (run: RunKernel) => TensorInfo,
): TensorInfo {
  const backend = kernelBackend as KernelBackend;
  const made: TensorInfo[] = [];
  const run: RunKernel = (kernelName, inputs, attrs = {}) => {
    const kernel = getKernel(kernelName, backendName);
    if (kernel == null) {
      throw new Error(`@road/backend: kernel '${kernelName}' is not registered for the '${backendName}' backend`);
    }
    const out = kernel.kernelFunc({ inputs: inputs as NamedTensorInfoMap, backend, attrs });
    if (Array.isArray(out)) {
      throw new Error(`@road/backend: kernel '${kernelName}' returned ${out.length} outputs where one was expected`);
    }
    made.push(out);
    return out;
  };
  let result: TensorInfo | undefined;
  try {
    result = body(run);
    return result;
  } finally {
    for (const t of made) {
      if (t !== result) backend.disposeData(t.dataId);
    }
  }
}

/** `[h, w]` from a tfjs `number | [number, number]` attribute. */
export function pair(v: number | [number, number] | number[] | undefined, fallback = 1): [number, number] {
  if (v == null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}
