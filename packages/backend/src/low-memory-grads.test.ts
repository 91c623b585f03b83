import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { lowMemoryVariableGrads } from './low-memory-grads.js';
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

type Grads = (f: () => tf.Scalar, vars: tf.Variable[]) => { value: tf.Scalar; grads: tf.NamedTensorMap };
const tfjsGrads: Grads = (f, vars) => tf.variableGrads(f, vars) as { value: tf.Scalar; grads: tf.NamedTensorMap };

/** Loss value and every gradient as plain arrays; disposes the tensors. */
function run(grads: Grads, f: () => tf.Scalar, vars: tf.Variable[]) {
  const { value, grads: g } = grads(f, vars);
  const out = {
    value: value.dataSync()[0],
    grads: Object.fromEntries(Object.entries(g).map(([k, t]) => [k, t == null ? null : Array.from(t.dataSync())])),
  };
  tf.dispose([value, ...Object.values(g).filter((t): t is tf.Tensor => t != null)]);
  return out;
}

/** The tiny segmentation net's loss on the toy batch (strided conv, batch norm, upsampling, 4 convs). */
function tinySegProblem() {
  const net = createTinySegNet({ seed: 3 });
  const batch = toySegmentationBatch({ n: 2, h: 12, w: 16, seed: 5 });
  const loss = () => softmaxCrossEntropyIgnore(net.apply(batch.images), batch.labels);
  const dispose = () => {
    net.dispose();
    tf.dispose([batch.images, batch.labels]);
  };
  return { vars: net.variables, loss, dispose };
}

/**
 * A graph with what a plain chain lacks: a tensor read by three ops (fan-out, so partial sums), a residual add,
 * a customGrad op whose gradient hands dy back unchanged for one input, an op with two outputs (split), a
 * variable the loss does not use and a non-trainable one.
 */
function branchyProblem() {
  const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25, 1.5, -0.75], [3, 2]), true, 'branchy/w');
  const b = tf.variable(tf.tensor1d([0.1, -0.2]), true, 'branchy/b');
  const unused = tf.variable(tf.tensor1d([7]), true, 'branchy/unused');
  const frozen = tf.variable(tf.tensor1d([3, 4]), false, 'branchy/frozen');
  const x = tf.tensor2d([1, 2, 3, -1, 0.5, 2, 0, -2, 1, 4, 1, -3], [4, 3]);
  // z = a + 2c, with a gradient that hands dy on unchanged for a.
  const passFirst = tf.customGrad(((a: tf.Tensor, c: tf.Tensor) => ({
    value: tf.add(a, tf.mul(c, 2)),
    gradFunc: (dy: tf.Tensor) => [dy, tf.mul(dy, 2)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const loss = () => {
    const h = tf.add(tf.matMul(x, w), b); // [4, 2]
    const r = tf.relu(h);
    const s = tf.sigmoid(h);
    const res = tf.add(h, tf.mul(r, s)); // h read three times
    const [p, q] = tf.split(res, 2, 1);
    const z = passFirst(tf.mul(p, q), tf.add(p, tf.slice(frozen, [0], [1])));
    return tf.sum(tf.square(z)) as tf.Scalar;
  };
  return { vars: [w, b, unused, frozen], loss, dispose: () => tf.dispose([w, b, unused, frozen, x]) };
}

describe('lowMemoryVariableGrads', () => {
  for (const backend of ['cpu', 'wasm']) {
    // Same kernels in the same order, so on cpu the results are bit-identical. On wasm (with @road/native's
    // 2-thread conv kernels loaded) this file's first wasm comparison has now and then differed in the last bits of
    // one conv's filter gradient, while 40 alternating runs of both in isolation were all bit-identical: there,
    // relative error < 1e-6 per gradient.
    const exact = backend === 'cpu';
    it(`gives ${exact ? 'bit-identical' : 'equal (rel. err. < 1e-6)'} loss and gradients to tf.variableGrads on the tiny conv seg net (${backend})`, async () => {
      await tf.setBackend(backend);
      const p = tinySegProblem();
      const before = tf.memory().numTensors;
      const ours = run(lowMemoryVariableGrads, p.loss, p.vars);
      expect(tf.memory().numTensors).toBe(before);
      const theirs = run(tfjsGrads, p.loss, p.vars);
      expect(Object.keys(ours.grads).sort()).toEqual(p.vars.map((v) => v.name).sort());
      if (exact) {
        expect(ours.value).toBe(theirs.value);
        for (const v of p.vars) expect(ours.grads[v.name], v.name).toEqual(theirs.grads[v.name]);
      } else {
        expect(Math.abs(ours.value - theirs.value)).toBeLessThan(1e-6 * Math.abs(theirs.value));
        for (const v of p.vars) {
          expect(relativeError(ours.grads[v.name] as number[], theirs.grads[v.name] as number[]), v.name).toBeLessThan(
            1e-6,
          );
        }
      }
      // Not all zero: the comparison means something.
      expect(ours.grads['tiny/conv1/w']?.some((g) => g !== 0)).toBe(true);
      p.dispose();
    });

    it(`matches tf.variableGrads bit for bit on fan-out, residual, split, customGrad, unused and frozen variables (${backend})`, async () => {
      await tf.setBackend(backend);
      const p = branchyProblem();
      const before = tf.memory().numTensors;
      const ours = run(lowMemoryVariableGrads, p.loss, p.vars);
      expect(tf.memory().numTensors).toBe(before);
      const theirs = run(tfjsGrads, p.loss, p.vars);
      expect(ours).toEqual(theirs);
      // tf.variableGrads' contract: no entry for the unused variable, null for the non-trainable one.
      expect('branchy/unused' in ours.grads).toBe(false);
      expect(ours.grads['branchy/frozen']).toBeNull();
      p.dispose();
    });
  }

  it('gradient of a hand-checkable loss: L = Σ (w·x)² with w = [1, 2], x = [3, −1] → ∂L/∂w = 2(w·x)·x = [6, −2]', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'hand/w');
    const x = tf.tensor1d([3, -1]);
    const { value, grads } = lowMemoryVariableGrads(() => tf.square(tf.sum(tf.mul(w, x))) as tf.Scalar, [w]);
    expect(value.dataSync()[0]).toBe(1); // (3 − 2)² = 1
    expect(Array.from(grads['hand/w'].dataSync())).toEqual([6, -2]);
    tf.dispose([value, grads['hand/w'], w, x]);
  });

  it('holds fewer bytes at its peak than tf.variableGrads on a 12-layer chain (tf.profile peakBytes)', async () => {
    await tf.setBackend('cpu');
    const ws = Array.from({ length: 12 }, (_, i) =>
      tf.variable(tf.randomUniform([32, 32], -0.2, 0.2, 'float32', i + 1), true, `chain/w${i}`),
    );
    const x = tf.randomUniform([256, 32], -1, 1, 'float32', 11);
    const loss = () => {
      let h: tf.Tensor = x;
      for (const w of ws) h = tf.relu(tf.matMul(h, w));
      return tf.sum(h) as tf.Scalar;
    };
    // Bytes of live tensors (tfjs samples them after every kernel) at the fullest moment of the backward pass, i.e.
    // after the loss's Sum kernel, above those alive before the call. (tfjs counts a saved clone's buffer once
    // more per clone, which inflates the forward pass alike for both; the backward pass is where they differ.)
    const backwardPeak = async (grads: Grads) => {
      const start = tf.memory().numBytes;
      const info = await tf.profile(() => {
        const r = grads(loss, ws);
        tf.dispose([r.value, ...Object.values(r.grads)]);
      });
      const sum = info.kernels.findIndex((k) => k.name === 'Sum');
      expect(sum).toBeGreaterThan(0);
      return Math.max(...info.kernels.slice(sum + 1).map((k) => k.totalBytesSnapshot)) - start;
    };
    const ours = await backwardPeak(lowMemoryVariableGrads);
    const theirs = await backwardPeak(tfjsGrads);
    // tfjs keeps every dy, ReLU mask and input gradient to the end of the walk (3 tensors of 256×32 float32 =
    // 32 KiB per layer); here each goes once used, and each layer's saved activations go as the walk passes it.
    expect(ours).toBeLessThan(theirs - 2 * 12 * 32 * 1024);
    tf.dispose([...ws, x]);
  });

  it('defers to tf.variableGrads inside another gradient computation (second derivative of w³ is 6w)', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.scalar(2), true, 'nested/w');
    const before = tf.memory().numTensors;
    // d/dw of (∂(w³)/∂w) = d/dw 3w² = 6w = 12
    const outer = tf.variableGrads(() => {
      const inner = lowMemoryVariableGrads(() => tf.pow(w, 3) as tf.Scalar, [w]);
      return tf.sum(inner.grads['nested/w']) as tf.Scalar;
    }, [w]);
    expect(outer.value.dataSync()[0]).toBe(12); // 3 · 2²
    expect(outer.grads['nested/w'].dataSync()[0]).toBeCloseTo(12, 5);
    tf.dispose([outer.value, outer.grads['nested/w']]);
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
  });

  it('rejects a non-scalar loss, a loss without the variables and bad arguments, without leaking', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'bad/w');
    const c = tf.tensor1d([5, 6]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      expect(() => lowMemoryVariableGrads(() => tf.mul(w, 2) as unknown as tf.Scalar, [w])).toThrow(/scalar.*rank-1/);
      expect(() => lowMemoryVariableGrads(() => tf.sum(c) as tf.Scalar, [w])).toThrow(/does not depend/);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => lowMemoryVariableGrads(() => tf.sum(w) as tf.Scalar, [c as unknown as tf.Variable])).toThrow(
      /tf.Variable/,
    );
    const frozen = tf.variable(tf.scalar(1), false, 'bad/frozen');
    expect(() => lowMemoryVariableGrads(() => tf.sum(w) as tf.Scalar, [frozen])).toThrow(/none of the 1 variables/);
    tf.dispose([w, c, frozen]);
  });
});
