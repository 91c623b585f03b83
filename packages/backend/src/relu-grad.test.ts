import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { randomValues } from './testing.js';
import { registerTrainingGradients, unregisterTrainingGradients } from './training-gradients.js';

// x with exact zeros, negatives and positives; loss Σ relu(x)·R.
const X = [...randomValues(60, 1), 0, -0, 0, 3, -3];
const R = randomValues(X.length, 2);
const grad = () =>
  tf.tidy(() => {
    const x = tf.tensor1d(X);
    const r = tf.tensor1d(R);
    return Array.from(
      tf
        .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))(x)
        .dataSync(),
    );
  });

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  registerTrainingGradients();
});
afterAll(async () => {
  unregisterTrainingGradients();
  await tf.setBackend('cpu');
});

describe('Relu gradient from the saved output', () => {
  it.each(['cpu', 'wasm'])('%s: equals tfjs gradient exactly (zeros included)', async (backend) => {
    await tf.setBackend(backend);
    const ours = grad();
    unregisterTrainingGradients();
    let tfjs: number[];
    try {
      tfjs = grad();
    } finally {
      registerTrainingGradients();
    }
    expect(ours).toEqual(tfjs);
    // hand check: dL/dx = R where x > 0, else 0 (±0: R·0 keeps R's sign)
    expect(ours.map((v) => v + 0)).toEqual(X.map((x, i) => (x > 0 ? Math.fround(R[i]) : 0)));
  });

  it('the tape keeps the ReLU output, not its input, and nothing leaks', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor1d(X);
    const before = tf.memory().numTensors;
    let savedIsOutput = false;
    let savedIsInput = true;
    const g = tf.grad((a: tf.Tensor) => {
      const pre = tf.add(a, 1);
      const y = tf.relu(pre);
      const tape = (tf.engine().state as unknown as { activeTape: { kernelName: string; saved: tf.Tensor[] }[] })
        .activeTape;
      const node = tape.find((n) => n.kernelName === 'Relu');
      savedIsOutput = node?.saved.length === 1 && node.saved[0].dataId === y.dataId;
      savedIsInput = node?.saved.some((t) => t.dataId === pre.dataId) ?? true;
      return tf.sum(y);
    })(x);
    g.dispose();
    expect(savedIsOutput).toBe(true);
    expect(savedIsInput).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
