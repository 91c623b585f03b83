import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { softmaxCrossEntropyIgnore } from '../softmax-cross-entropy.js';
import { fusedSoftmaxCrossEntropyIgnore, SOFTMAX_CE_GRAD_KERNEL, SOFTMAX_CE_KERNEL } from './softmax-cross-entropy.js';

interface Case {
  name: string;
  shape: [number, number, number, number];
  logits: number[];
  labels: number[];
  loss: number | null;
  grad: (number | null)[];
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/softmax_ce.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};
const byName = (n: string) => fixture.cases.find((c) => c.name === n) as Case;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function lossAndGrad(fn: typeof fusedSoftmaxCrossEntropyIgnore, c: Case) {
  const [n, h, w] = c.shape;
  const z = tf.tensor4d(c.logits, c.shape);
  const y = tf.tensor3d(c.labels, [n, h, w], 'int32');
  const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => fn(x as tf.Tensor4D, y))([z]);
  const out = { loss: value.dataSync()[0]!, grad: Array.from(grads[0]!.dataSync()) };
  tf.dispose([z, y, value, ...grads]);
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

describe('fusedSoftmaxCrossEntropyIgnore without its kernel', () => {
  it('takes the composite path (no fused kernel call) with the same value and gradient', async () => {
    await tf.setBackend('cpu');
    const c = byName('random');
    const fused = lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
    const config = tf.getKernel(SOFTMAX_CE_KERNEL, 'cpu');
    expect(config).toBeDefined();
    tf.unregisterKernel(SOFTMAX_CE_KERNEL, 'cpu');
    try {
      const info = await tf.profile(() => {
        const r = lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
        expect(Math.abs(r.loss - fused.loss)).toBeLessThan(1e-5);
        expect(maxAbsDiff(r.grad, fused.grad)).toBeLessThan(1e-6);
      });
      expect(info.kernels.map((k) => k.name)).not.toContain(SOFTMAX_CE_KERNEL);
      expect(info.kernels.map((k) => k.name)).toContain('Exp');
    } finally {
      tf.registerKernel(config!);
    }
  });
});

describe.each(['cpu', 'wasm'] as const)('fusedSoftmaxCrossEntropyIgnore on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it.each(['random', 'large-logits'])(
    'matches PyTorch F.cross_entropy(ignore_index=255): value and gradient (%s)',
    (name) => {
      const c = byName(name);
      const got = lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
      expect(Math.abs(got.loss - c.loss!) / Math.abs(c.loss!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.grad, c.grad as number[])).toBeLessThan(1e-6);
    },
  );

  it('is 0 with a 0 gradient when every pixel is ignored (PyTorch: NaN loss, 0 gradient)', () => {
    const c = byName('all-ignored');
    expect(c.loss).toBeNull(); // the fixture's NaN
    const got = lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
    expect(got.loss).toBe(0);
    expect(got.grad.every((g) => g === 0)).toBe(true);
    expect(c.grad.every((g) => g === 0)).toBe(true);
  });

  it('matches the composite softmaxCrossEntropyIgnore on random inputs, value and gradient', () => {
    const shape: [number, number, number, number] = [2, 5, 7, 19];
    const logits = Array.from(tf.randomNormal(shape, 0, 3, 'float32', 5).dataSync());
    const labels = Array.from({ length: 70 }, (_, i) => (i % 7 === 3 ? 255 : (i * 13) % 19));
    const c = { name: 'r', shape, logits, labels, loss: null, grad: [] } as Case;
    const a = lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
    const b = lossAndGrad(softmaxCrossEntropyIgnore, c);
    expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.grad, b.grad)).toBeLessThan(1e-6);
  });

  it('runs one kernel forward and one backward', async () => {
    const c = byName('random');
    const info = await tf.profile(() => {
      lossAndGrad(fusedSoftmaxCrossEntropyIgnore, c);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((k) => k === SOFTMAX_CE_KERNEL).length).toBe(1);
    expect(names.filter((k) => k === SOFTMAX_CE_GRAD_KERNEL).length).toBe(1);
    expect(names).not.toContain('Exp');
  });

  it('rejects a label outside [0, C) that is not the ignore label, naming it', () => {
    const z = tf.zeros([1, 1, 2, 3]) as tf.Tensor4D;
    const y = tf.tensor3d([1, 3], [1, 1, 2], 'int32');
    expect(() => fusedSoftmaxCrossEntropyIgnore(z, y)).toThrow(
      'label 3 at pixel 1 is outside [0, 3) and not the ignore label 255',
    );
    expect(() => fusedSoftmaxCrossEntropyIgnore(z, tf.zeros([1, 1, 2]) as tf.Tensor3D)).toThrow(
      'labels must be int32, got float32',
    );
    tf.dispose([z, y]);
  });

  it('leaks no tensor (forward alone, and forward + backward)', () => {
    const z = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tensor3d(
      Array.from({ length: 18 }, (_, i) => (i % 5 === 4 ? 255 : i % 4)),
      [2, 3, 3],
      'int32',
    );
    const before = tf.memory().numTensors;
    fusedSoftmaxCrossEntropyIgnore(z, y).dispose();
    expect(tf.memory().numTensors).toBe(before);
    const g = tf.grad((x: tf.Tensor) => fusedSoftmaxCrossEntropyIgnore(x as tf.Tensor4D, y))(z);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, y]);
  });
});
