import type { TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` that our kernels use: tensors' views into the wasm heap, their byte
 * offsets, new outputs and reference counts. The one declaration of those internals in this package (tfjs 4.22 does
 * not export them as a stable API); kernels cast `args.backend` to it.
 */
export interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  incRef(dataId: object): void;
  disposeData(dataId: object): boolean;
  wasm: { HEAPU8: Uint8Array };
}
