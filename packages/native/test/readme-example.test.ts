import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { loadNative, buildStatus } = require('../index.js') as typeof import('../index.js');

// The example of README.md, verbatim apart from the assertion (the window sums are worked out in its comment).
describe.runIf(buildStatus()?.built === true)('README example', () => {
  it('sums 2×2 windows of a 3×3 image', () => {
    const { addon, reason } = loadNative();
    if (addon == null) throw new Error(`no native kernels: ${reason}`);
    const heap = new ArrayBuffer(4 * (9 + 4 + 4));
    const f = new Float32Array(heap);
    f.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 0);
    f.set([1, 1, 1, 1], 9);
    addon.conv2d(heap, 0, 36, -1, 52, [1, 3, 3, 1, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0], false);
    expect(Array.from(f.subarray(13, 17))).toEqual([12, 16, 24, 28]);
  });
});
