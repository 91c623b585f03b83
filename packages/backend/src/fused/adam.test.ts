import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { activeNativeAddon } from '../native/register-native.js';
import { createFusedAdam, FUSED_ADAM_KERNEL, type FusedAdamMode, FusedAdamOptimizer } from './adam.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' }); // registers and loads wasm; tests pick their backend below
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPES = [[3, 4], [5], [2, 2, 3]];

/** Runs `steps` Adam steps from the same start on the same seeded gradients; returns weights and state per step. */
function run(make: () => tf.Optimizer, steps: number, nullAt?: { step: number; index: number }) {
  const vars = SHAPES.map((s, i) =>
    tf.variable(tf.randomNormal(s, 0, 1, 'float32', 100 + i), true, `adamtest/${i}/${Math.random()}`),
  );
  const opt = make();
  for (let t = 0; t < steps; t++) {
    const grads = SHAPES.map(
      (s, i) =>
        nullAt && nullAt.step === t && nullAt.index === i
          ? null
          : tf.randomNormal(s, 0, t % 3 === 0 ? 1e-3 : 2, 'float32', 1000 * t + i + 1), // seed 0 would mean unseeded
    );
    opt.applyGradients(
      vars.map((v, i) => ({ name: v.name, tensor: grads[i] })) as unknown as Parameters<
        tf.Optimizer['applyGradients']
      >[0],
    );
    tf.dispose(grads.filter(Boolean) as tf.Tensor[]);
  }
  const values = vars.map((v) => Array.from(v.dataSync()));
  const o = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  const acc = [o.accBeta1.dataSync()[0], o.accBeta2.dataSync()[0]];
  return { vars, opt, values, acc, iterations: opt.iterations };
}

function maxRelErr(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => {
    row.forEach((x, j) => {
      const y = b[i]![j]!;
      m = Math.max(m, Math.abs(x - y) / Math.max(1e-6, Math.abs(y)));
    });
  });
  return m;
}

describe.each(['cpu', 'wasm'] as const)('FusedAdamOptimizer on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it.each(['all', 'per-variable'] as FusedAdamMode[])(
    'matches tf.train.adam over 20 steps (mode %s, one null gradient)',
    (mode) => {
      const nullAt = { step: 4, index: 1 };
      const a = run(() => createFusedAdam(0.01, 0.9, 0.999, null, mode), 20, nullAt);
      const b = run(() => tf.train.adam(0.01), 20, nullAt);
      expect(maxRelErr(a.values, b.values)).toBeLessThan(1e-5);
      expect(a.acc).toEqual(b.acc);
      expect(a.iterations).toBe(20);
      expect(b.iterations).toBe(20);
      tf.dispose([...a.vars, ...b.vars]);
      a.opt.dispose();
      b.opt.dispose();
    },
  );

  it('first step by hand: x − lr·g/(|g|+ε) (m̂ = g, v̂ = g² at t = 1)', () => {
    const x = tf.variable(tf.tensor1d([1, -2, 0.25]), true, `adamhand/${backend}`);
    const g = tf.tensor1d([0.5, -4, 0]);
    const opt = createFusedAdam(0.1, 0.9, 0.999, 1e-3);
    opt.applyGradients([{ name: x.name, tensor: g }]);
    // 1 − 0.1·0.5/(0.5+0.001) = 0.900199600798…; −2 + 0.1·4/(4+0.001) = −1.900024993751…; 0.25 − 0 = 0.25
    // (to ~1e-6: β₁, β₂ are float32 — 1 − f32(0.999) = 0.000999987…, which moves v̂ by 1.3e-5 relative)
    const got = Array.from(x.dataSync());
    expect(got[0]).toBeCloseTo(1 - 0.05 / 0.501, 5);
    expect(got[1]).toBeCloseTo(-2 + 0.4 / 4.001, 5);
    expect(got[2]).toBe(0.25);
    tf.dispose([x, g]);
    opt.dispose();
  });

  it('keeps the stock getWeights slots and restores through setWeights', async () => {
    const a = run(() => createFusedAdam(0.02), 3);
    const b = run(() => tf.train.adam(0.02), 3);
    const wa = await a.opt.getWeights();
    const wb = await b.opt.getWeights();
    expect(wa.map((w) => w.name.replace(/adamtest\/(\d)\/[0-9.]+/, 'v$1'))).toEqual(
      wb.map((w) => w.name.replace(/adamtest\/(\d)\/[0-9.]+/, 'v$1')),
    );
    expect(wa.length).toBe(1 + 2 * SHAPES.length);
    expect(
      maxRelErr(
        wa.slice(1).map((w) => Array.from(w.tensor.dataSync())),
        wb.slice(1).map((w) => Array.from(w.tensor.dataSync())),
      ),
    ).toBeLessThan(1e-5);
    // A fresh fused optimizer restored from a's state continues exactly like a.
    const c = createFusedAdam(0.02);
    await c.setWeights(wa.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
    expect(c.iterations).toBe(3);
    tf.dispose(wa[0]!.tensor);
    tf.dispose(wb[0]!.tensor);
    tf.dispose([...a.vars, ...b.vars]);
    a.opt.dispose();
    b.opt.dispose();
    c.dispose();
  });

  it('is a tf.AdamOptimizer that runs one kernel per step in mode all and one per variable otherwise', async () => {
    const opt = createFusedAdam(0.01);
    expect(opt).toBeInstanceOf(tf.AdamOptimizer);
    expect(opt).toBeInstanceOf(FusedAdamOptimizer);
    const vars = SHAPES.map((s, i) => tf.variable(tf.zeros(s), true, `adamcount/${backend}/${i}`));
    const grads = SHAPES.map((s) => tf.ones(s));
    const count = async (o: tf.Optimizer) => {
      const info = await tf.profile(() => {
        o.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
      });
      return info.kernels.filter((k) => k.name === FUSED_ADAM_KERNEL).length;
    };
    expect(await count(opt)).toBe(1);
    const per = createFusedAdam(0.01, 0.9, 0.999, null, 'per-variable');
    expect(await count(per)).toBe(3);
    tf.dispose([...vars, ...grads]);
    opt.dispose();
    per.dispose();
  });

  it('leaks no tensor per step (after slot creation)', () => {
    const vars = SHAPES.map((s, i) => tf.variable(tf.zeros(s), true, `adamleak/${backend}/${i}`));
    const grads = SHAPES.map((s) => tf.ones(s));
    const opt = createFusedAdam(0.01);
    const step = () => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([...vars, ...grads]);
  });
});

describe('FusedAdamOptimizer on a backend without the kernel', () => {
  it('falls back to the stock update (same result as tf.train.adam)', async () => {
    await tf.setBackend('cpu');
    const a = run(() => createFusedAdam(0.01), 1); // step 0: gradients N(0, 1e-3) with seeds i + 1
    // Unregistering for cpu forces the fallback; the next optimizer registers it again.
    tf.unregisterKernel(FUSED_ADAM_KERNEL, 'cpu');
    const vars = SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', 100 + i), true, `adamfb/${i}`));
    const opt = new FusedAdamOptimizer(0.01);
    tf.unregisterKernel(FUSED_ADAM_KERNEL, 'cpu');
    const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 1e-3, 'float32', i + 1));
    const info = await tf.profile(() => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! }))));
    expect(info.kernels.some((k) => k.name === FUSED_ADAM_KERNEL)).toBe(false);
    expect(
      maxRelErr(
        vars.map((v) => Array.from(v.dataSync())),
        a.values,
      ),
    ).toBeLessThan(1e-5);
    tf.dispose([...a.vars, ...vars, ...grads]);
    a.opt.dispose();
    opt.dispose();
    createFusedAdam(0.01).dispose(); // registers again
    expect(tf.getKernel(FUSED_ADAM_KERNEL, 'cpu')).toBeDefined();
  });
});

describe('FusedAdamOptimizer through @road/native on wasm', () => {
  it('gives bit for bit the values of the JS kernel on cpu (same float32 arithmetic in C++)', async () => {
    expect(activeNativeAddon()?.adam, 'the native addon (with adam) should be loaded by initBackend').toBeDefined();
    await tf.setBackend('cpu');
    const js = run(() => createFusedAdam(0.01), 20, { step: 4, index: 1 });
    await tf.setBackend('wasm');
    const native = run(() => createFusedAdam(0.01), 20, { step: 4, index: 1 });
    expect(native.values).toEqual(js.values);
    expect(native.acc).toEqual(js.acc);
  });
});
