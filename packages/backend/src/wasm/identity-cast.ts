import {
  Cast,
  type CastAttrs,
  Identity,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from './backend-wasm.js';

/** A new TensorInfo on the same data (the backend counts one more reference), as `Reshape` does on wasm. */
function share(backend: WasmBackendInternals, x: TensorInfo, dtype = x.dtype): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype };
}

/**
 * `Identity` on wasm sharing the input's buffer (one more reference) instead of copying it, as the cpu backend's
 * does. tfjs runs `Identity` for every tensor a gradient saves (`engine.clone` of `inputsToSave` /
 * `outputsToSave`) and for `tf.clone` / same-dtype casts, so with the shipped copying kernel a training step on
 * wasm held two copies of each saved activation (the 320×640 vgg16-fcn step ran out of the 4 GiB wasm heap).
 * Tensors are immutable and the wasm backend counts references per buffer (its `Reshape` shares the same way),
 * so sharing is safe. Strings go to the shipped kernel.
 */
export function identitySharedConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return shipped.kernelFunc(args);
    return share(args.backend as unknown as WasmBackendInternals, x);
  };
  return {
    kernelName: Identity,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}

/**
 * `Cast` on wasm: to the same dtype it shares the buffer (no copy: the ReLU gradient alone casts a full-size
 * float32 mask to float32); to `bool` it writes x ≠ 0 like the cpu backend (the shipped kernel stores the value
 * truncated to a byte, so 0.5 → false and 256 → false). Everything else goes to the shipped kernel.
 */
export function castConfig(shipped: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { dtype } = args.attrs as unknown as CastAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    if (x.dtype === dtype && dtype !== 'string' && dtype !== 'complex64') return share(backend, x);
    if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      const out = backend.makeOutput(x.shape.slice(), 'bool');
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
    return shipped.kernelFunc(args);
  };
  return {
    kernelName: Cast,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc,
  };
}
