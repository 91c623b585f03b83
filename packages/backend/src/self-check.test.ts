import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { runSelfCheck } from './self-check.js';

let isTest = true;
beforeAll(() => {
  isTest = tf.env().getBool('IS_TEST'); // see training-kernels.test.ts
  tf.env().set('IS_TEST', false);
});
afterAll(async () => {
  tf.env().set('IS_TEST', isTest);
  await tf.setBackend('cpu');
});

describe('runSelfCheck', () => {
  it('prints the backend, the skipped ones with reasons, and a falling loss; returns the losses; leaks nothing', async () => {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const losses = await runSelfCheck({
      steps: 8,
      log: (l) => lines.push(l),
      loaders: { 'tensorflow-gpu': async () => Promise.reject(new Error('no CUDA here (test)')) },
    });
    expect(losses).toHaveLength(8);
    expect(losses[7]).toBeLessThan(losses[0]);
    expect(lines[0]).toBe('road engine self-check');
    expect(lines).toContain('  skipped tensorflow-gpu: no CUDA here (test)');
    expect(lines.some((l) => /^backend: (tensorflow|webgpu|wasm|cpu) \(tfjs-core/.test(l))).toBe(true);
    expect(lines.filter((l) => /^ {2}step +\d+\/8 {2}loss \d+\.\d{4}/.test(l))).toHaveLength(8);
    expect(lines.at(-1)).toMatch(/falling, the engine trains$/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the backend an earlier initBackend chose (road doctor --backend cpu checks cpu)', async () => {
    await initBackend({ prefer: 'cpu' });
    const lines: string[] = [];
    const losses = await runSelfCheck({ steps: 2, log: (l) => lines.push(l) });
    expect(losses).toHaveLength(2);
    expect(lines[1]).toMatch(/^backend: cpu \(/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects a bad step count', async () => {
    await expect(runSelfCheck({ steps: 0, log: () => {} })).rejects.toThrow('steps must be a positive integer, got 0');
  });
});
