import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { softmaxCrossEntropyIgnore } from './softmax-cross-entropy.js';
import { relativeError } from './testing.js';
import { createTinySegNet, toySegmentationBatch } from './tiny-seg-net.js';

let isTest = true;
beforeAll(async () => {
  isTest = tf.env().getBool('IS_TEST'); // see training-kernels.test.ts: tfjs's IS_TEST leak check misfires on logSoftmax
  tf.env().set('IS_TEST', false);
  await initBackend({ prefer: 'wasm' });
});
afterAll(async () => {
  tf.env().set('IS_TEST', isTest);
  await tf.setBackend('cpu');
});

function grads(): Record<string, Float32Array> {
  return tf.tidy(() => {
    const net = createTinySegNet({ seed: 3 });
    const { images, labels } = toySegmentationBatch({ seed: 4 });
    const { grads } = tf.variableGrads(() => softmaxCrossEntropyIgnore(net.apply(images), labels), net.variables);
    const out: Record<string, Float32Array> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = g.dataSync() as Float32Array;
    net.dispose();
    return out;
  });
}

describe('createTinySegNet and toySegmentationBatch', () => {
  it('make 10 variables and a batch with ignored borders; dispose leaves no tensor', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const net = createTinySegNet({ classes: 3, width: 4 });
    const { images, labels } = toySegmentationBatch({ n: 1, h: 6, w: 8, classes: 3 });
    expect(net.variables.map((v) => v.shape)).toEqual([
      [3, 3, 3, 4],
      [4],
      [4],
      [4],
      [3, 3, 4, 4],
      [4],
      [3, 3, 4, 4],
      [4],
      [1, 1, 4, 3],
      [3],
    ]);
    const logits = net.apply(images);
    expect(logits.shape).toEqual([1, 6, 8, 3]);
    const l = labels.arraySync()[0];
    expect(l[0].every((v) => v === 255)).toBe(true);
    expect(l[2][0]).toBe(255);
    expect(l[2].slice(1, 7).every((v) => v >= 0 && v < 3)).toBe(true);
    const twoChannels = tf.zeros([1, 6, 8, 2]) as tf.Tensor4D;
    expect(() => net.apply(twoChannels)).toThrow('images have 2 channels, the net takes 3');
    tf.dispose([logits, images, labels, twoChannels]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the 4-conv net (conv stride 2, ReLU, batch norm, bilinear upsampling, softmax CE ignoring 255)', () => {
  it('has the same gradients on wasm as on cpu (relative error < 1e-4 for every weight)', async () => {
    await tf.setBackend('cpu');
    const cpu = grads();
    await tf.setBackend('wasm');
    const wasm = grads();
    expect(Object.keys(wasm).sort()).toEqual(Object.keys(cpu).sort());
    expect(Object.keys(cpu)).toHaveLength(10);
    for (const k of Object.keys(cpu)) expect(relativeError(wasm[k], cpu[k]), k).toBeLessThan(1e-4);
  });

  it('trains on wasm: loss falls over 12 Adam steps, without leaking tensors', async () => {
    await tf.setBackend('wasm');
    const net = createTinySegNet({ seed: 5 });
    const { images, labels } = toySegmentationBatch({ seed: 6 });
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    let tensorsAfterFirst = -1;
    for (let i = 0; i < 12; i++) {
      const loss = opt.minimize(() => softmaxCrossEntropyIgnore(net.apply(images), labels), true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      if (i === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    expect(losses[11]).toBeLessThan(0.8 * losses[0]);
    expect(Math.min(...losses.slice(6))).toBeLessThan(Math.min(...losses.slice(0, 6)));
    opt.dispose();
    net.dispose();
    tf.dispose([images, labels]);
  });
});
