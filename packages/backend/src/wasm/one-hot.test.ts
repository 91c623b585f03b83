import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { runKernelOn } from '../testing.js';
import { shippedKernel } from './register-kernels.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('OneHot on wasm', () => {
  it('float32 one-hot reads back 1 and 0 (and on/off values), like the cpu backend', async () => {
    const inputs = { indices: { shape: [4], values: [2, 0, -1, 1], dtype: 'int32' as const } };
    const attrs = { depth: 3, onValue: 2.5, offValue: -1, dtype: 'float32' };
    const wasm = await runKernelOn('wasm', 'OneHot', inputs, attrs);
    const cpu = await runKernelOn('cpu', 'OneHot', inputs, attrs);
    const expected = [-1, -1, 2.5, 2.5, -1, -1, -1, -1, -1, -1, 2.5, -1];
    expect(Array.from(wasm.values)).toEqual(expected);
    expect(Array.from(cpu.values)).toEqual(expected);
    expect(wasm.values).toBeInstanceOf(Float32Array);
  });

  it('the shipped wasm kernel is the one that is wrong (int32 bits in a float32 tensor)', async () => {
    await tf.setBackend('wasm');
    const shipped = shippedKernel('OneHot');
    expect(shipped).toBeDefined();
    const values = tf.tidy(() => {
      const indices = tf.tensor1d([1], 'int32');
      const out = shipped?.kernelFunc({
        inputs: { indices },
        backend: tf.backend(),
        attrs: { depth: 2, onValue: 1, offValue: 0, dtype: 'float32' },
      }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(out).dataSync();
    });
    expect(values[1]).not.toBe(1);
    expect(values[1]).toBeCloseTo(1.401298464324817e-45, 50);
  });

  it('int32 one-hot still uses the shipped kernel path and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const idx = tf.tensor1d([0, 2], 'int32');
    const before = tf.memory().numTensors;
    const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const y = tf.oneHot(idx, 3);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([1, 0, 0, 0, 0, 1]);
    const f = tf.oneHot(idx, 3, 1, 0, 'float32');
    expect(Array.from(f.dataSync())).toEqual([1, 0, 0, 0, 0, 1]);
    tf.dispose([y, f]);
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    idx.dispose();
  });
});
