import {
  Add,
  Cast,
  type DataType,
  type KernelBackend,
  type KernelConfig,
  Multiply,
  OneHot,
  type OneHotAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { withKernels } from './call-kernel.js';

/**
 * `OneHot` on wasm for every dtype. The tfjs-backend-wasm 4.22 kernel writes int32 bit patterns
 * whatever `dtype` asks for, so `tf.oneHot(i, n, 1, 0, 'float32')` reads back 1.4e-45 instead of 1.
 * For other dtypes this runs the shipped kernel as a 0/1 int32 one-hot h and returns
 * cast(h)·(on − off) + off (exact for any on/off values).
 */
export function oneHotAnyDtypeConfig(shipped: KernelConfig): KernelConfig {
  return {
    kernelName: OneHot,
    backendName: shipped.backendName,
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc: (args) => {
      const { dtype, onValue, offValue } = args.attrs as unknown as OneHotAttrs;
      if (dtype == null || dtype === 'int32') return shipped.kernelFunc(args);
      const backend = args.backend as KernelBackend;
      const scalars: TensorInfo[] = [];
      const scalar = (v: number): TensorInfo => {
        const t = {
          dataId: backend.write(new Float32Array([v]), [], 'float32'),
          shape: [],
          dtype: 'float32' as DataType,
        };
        scalars.push(t);
        return t;
      };
      try {
        return withKernels(backend, shipped.backendName, (run) => {
          const bits = shipped.kernelFunc({
            ...args,
            attrs: { ...args.attrs, dtype: 'int32', onValue: 1, offValue: 0 },
          }) as TensorInfo;
          scalars.push(bits);
          const h = run(Cast, { x: bits }, { dtype: 'float32' });
          const scaled =
            onValue === 1 && offValue === 0
              ? h
              : run(Add, { a: run(Multiply, { a: h, b: scalar(onValue - offValue) }), b: scalar(offValue) });
          return dtype === 'float32' ? scaled : run(Cast, { x: scaled }, { dtype });
        });
      } finally {
        for (const t of scalars) backend.disposeData(t.dataId);
      }
    },
  };
}
