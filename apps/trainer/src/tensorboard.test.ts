import { describe, expect, it } from 'vitest';
import { tensorboardWriter } from './tensorboard.js';

describe('tensorboardWriter', () => {
  it('is skipped, with the reason, unless the tensorflow backend is loaded', () => {
    for (const b of ['wasm', 'cpu', 'webgpu']) {
      const r = tensorboardWriter(b, '/tmp/tb');
      expect(r.writer).toBeNull();
      expect(r.reason).toMatch(new RegExp(`need the tensorflow backend \\(tfjs-node\\), the backend is ${b}`));
    }
  });
});
