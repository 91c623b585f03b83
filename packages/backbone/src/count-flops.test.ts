import { input, layers, model, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { AtrousConv2D } from './atrous-conv2d.js';
import { countFlops } from './count-flops.js';

describe('countFlops', () => {
  it('matches hand arithmetic on a 2-layer model (conv 3×3 valid, then dense)', () => {
    const x = input({ shape: [5, 6, 3] });
    const c = layers.conv2d({ filters: 4, kernelSize: 3, name: 'c' }).apply(x) as SymbolicTensor;
    const d = layers.dense({ units: 2, name: 'd' }).apply(c) as SymbolicTensor;
    const m = model({ inputs: x, outputs: d });
    const r = countFlops(m, [5, 6, 3]);
    // conv: output 3×4 positions, 2·3·3·3·4 = 216 FLOPs each → 2592; dense on [3,4,4]: 12 rows × 2·4·2 = 192
    expect(r.byLayer).toEqual({ c: 2592, d: 192 });
    expect(r.total).toBe(2784);
    expect(r.perPixel).toBeCloseTo(2784 / 30, 10);
    expect(r.params).toBe(3 * 3 * 3 * 4 + 4 + 4 * 2 + 2);
    const batch = countFlops(m, [2, 5, 6, 3]);
    expect(batch.total).toBe(2 * 2784);
    expect(batch.perImage).toBe(2784);
    m.dispose();
  });

  it('counts atrous convs at their nominal cost, each call of a shared layer, and nested models', () => {
    const x = input({ shape: [null, null, 3] });
    const a = new AtrousConv2D({ filters: 4, kernelSize: 3, dilationRate: 2, name: 'a' });
    const shared = layers.conv2d({ filters: 4, kernelSize: 1, name: 's' });
    const y1 = shared.apply(a.apply(x)) as SymbolicTensor;
    const y2 = shared.apply(y1) as SymbolicTensor;
    const inner = model({ inputs: x, outputs: y2, name: 'inner' });
    const x2 = input({ shape: [null, null, 3] });
    const outer = model({ inputs: x2, outputs: inner.apply(x2) as SymbolicTensor });
    const r = countFlops(outer, [5, 6, 3]);
    // atrous 'same': 30 positions × 2·9·3·4 = 6480; shared 1×1 conv twice: 2 × 30 × 2·4·4 = 1920
    expect(r.byLayer).toEqual({ a: 6480, s: 1920 });
    expect(r.total).toBe(8400);
    outer.dispose();
  });

  it('rejects bad input shapes', () => {
    const x = input({ shape: [null, null, 1] });
    const m = model({ inputs: x, outputs: layers.conv2d({ filters: 1, kernelSize: 1 }).apply(x) as SymbolicTensor });
    expect(() => countFlops(m, [4, 4])).toThrow(/inputShape/);
    expect(() => countFlops(m, [0, 4, 1])).toThrow(/inputShape/);
    m.dispose();
  });
});
