import { getKernel, type KernelFunc, registerKernel, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from '../wasm/backend-wasm.js';

/** The backends whose tensors the fused kernels can read and write as typed arrays in place. */
export type FusedBackendName = 'cpu' | 'wasm';

interface CpuLike {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: string, values?: Float32Array | Int32Array): TensorInfo;
}
/**
 * Typed-array access to a backend's tensor memory for the fused kernels: `alloc` makes the outputs, `view`
 * returns a tensor's values (a live view of the wasm heap on wasm, the backing array on cpu).
 *
 * On wasm every output must be allocated before any view is taken: `_malloc` may grow (replace) the heap
 * buffer, which detaches views taken earlier. `alloc` returns TensorInfos; call `view` afterwards.
 */
export interface KernelIO {
  alloc(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  view(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** {@link KernelIO} for a cpu or wasm backend object. */
export function kernelIO(backendName: FusedBackendName, backend: object): KernelIO {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendInternals;
    return {
      alloc: (shape, dtype) => b.makeOutput(shape, dtype),
      view: (t) => b.typedArrayFromHeap(t),
    };
  }
  const b = backend as CpuLike;
  return {
    alloc: (shape, dtype) => {
      const size = shape.reduce((a, d) => a * d, 1);
      return b.makeTensorInfo(shape, dtype, dtype === 'int32' ? new Int32Array(size) : new Float32Array(size));
    },
    view: (t) => b.data.get(t.dataId).values as Float32Array | Int32Array,
  };
}

/**
 * Registers `kernelFunc(backendName)` as kernel `name` for the cpu and wasm backends unless it is registered
 * already (tfjs keeps kernels per backend name, whether that backend is loaded or not).
 */
export function ensureFusedKernel(name: string, kernelFunc: (backendName: FusedBackendName) => KernelFunc): void {
  for (const backendName of ['cpu', 'wasm'] as const) {
    if (getKernel(name, backendName) == null) {
      registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc(backendName) });
    }
  }
}

/** True when kernel `name` can run on `backendName` (the fused paths are cpu and wasm only). */
export function fusedKernelAvailable(name: string, backendName: string): backendName is FusedBackendName {
  return (backendName === 'cpu' || backendName === 'wasm') && getKernel(name, backendName) != null;
}
