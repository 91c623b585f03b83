import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { runKernelOn } from '../testing.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('Identity and Cast on wasm', () => {
  it('clone / same-dtype cast share the buffer (no new data buffer), and the copy outlives the original', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(buffers);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    z.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
  });

  it('cast to bool is x ≠ 0, like cpu (the shipped kernel truncated to a byte)', async () => {
    const inputs = { x: { shape: [7], values: [0.5, -1, 0, 256, Number.NaN, -0, 1e-30] } };
    const wasm = await runKernelOn('wasm', 'Cast', inputs, { dtype: 'bool' });
    const cpu = await runKernelOn('cpu', 'Cast', inputs, { dtype: 'bool' });
    expect(Array.from(wasm.values)).toEqual([1, 1, 0, 1, 1, 0, 1]);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    const ints = { x: { shape: [4], values: [0, 3, -2, 256], dtype: 'int32' as const } };
    expect(Array.from((await runKernelOn('wasm', 'Cast', ints, { dtype: 'bool' })).values)).toEqual([0, 1, 1, 1]);
  });

  it('other casts are unchanged (float → int32 truncates, bool → float32)', async () => {
    const inputs = { x: { shape: [4], values: [1.7, -1.7, 2, 0] } };
    const wasm = await runKernelOn('wasm', 'Cast', inputs, { dtype: 'int32' });
    const cpu = await runKernelOn('cpu', 'Cast', inputs, { dtype: 'int32' });
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    await tf.setBackend('wasm');
    const f = tf.tidy(() => Array.from(tf.cast(tf.tensor1d([true, false, true], 'bool'), 'float32').dataSync()));
    expect(f).toEqual([1, 0, 1]);
  });
});
