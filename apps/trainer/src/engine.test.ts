import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ensureEngine } from './engine.js';
import { setVerbose } from './output.js';

describe('ensureEngine output', () => {
  it('says one line by default, and every decision with its full reason under --verbose', async () => {
    const quiet: string[] = [];
    await ensureEngine('wasm', (l) => quiet.push(l));
    expect(quiet).toHaveLength(1);
    expect(quiet[0]).toMatch(
      /^backend: wasm( \+ native kernels \(\d+ threads, [\w-]+\)| \(native kernels off: [^)]+\))$/,
    );

    const loud: string[] = [];
    setVerbose(true);
    try {
      await ensureEngine('cpu', (l) => loud.push(l));
    } finally {
      setVerbose(false);
    }
    expect(loud[loud.length - 1]).toBe('backend: cpu');
    expect(loud).toContain(`backend cpu: in use (tfjs-core ${tf.version_core}, tf.getBackend() = 'cpu')`);
  });
});
