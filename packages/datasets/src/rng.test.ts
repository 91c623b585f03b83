import { describe, expect, it } from 'vitest';
import { deriveSeed, mix32, Rng } from './rng.js';

describe('Rng (xoshiro128**)', () => {
  it('matches hand-computed outputs of the reference algorithm from state [1, 2, 3, 4]', () => {
    const r = new Rng(0);
    r.setState([1, 2, 3, 4]);
    // out = rotl(s1 * 5, 7) * 9 with s1 = 2: rotl(10, 7) = 1280, * 9 = 11520.
    expect(r.nextUint32()).toBe(11520);
    // update: t = 2 << 9 = 1024; s2 ^= s0 → 2; s3 ^= s1 → 6; s1 ^= s2 → 0; s0 ^= s3 → 7; s2 ^= t → 1026;
    // s3 = rotl(6, 11) = 12288 → state [7, 0, 1026, 12288]; out with s1 = 0 is 0.
    expect(r.getState()).toEqual([7, 0, 1026, 12288]);
    expect(r.nextUint32()).toBe(0);
    // t = 0; s2 ^= s0 → 1029; s3 ^= s1 → 12288; s1 ^= s2 → 1029; s0 ^= s3 → 12295; s2 → 1029;
    // s3 = rotl(12288, 11) = 25165824. out = rotl(1029 * 5 = 5145, 7) * 9 = 658560 * 9 = 5927040.
    expect(r.getState()).toEqual([12295, 1029, 1029, 25165824]);
    expect(r.nextUint32()).toBe(5927040);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(7)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(7)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(8)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('resumes exactly from a saved (JSON round-tripped) state', () => {
    const r = new Rng(123);
    for (let i = 0; i < 10; i++) r.uniform();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const expected = [r.uniform(), r.int(0, 100), r.normal(), r.shuffle([1, 2, 3, 4, 5])];
    const r2 = new Rng(999);
    r2.setState(saved);
    expect([r2.uniform(), r2.int(0, 100), r2.normal(), r2.shuffle([1, 2, 3, 4, 5])]).toEqual(expected);
    const c = r2.clone();
    expect(c.nextUint32()).toBe(r2.nextUint32());
  });

  it('uniform in [min, max), int in [min, max), bool, pick', () => {
    const r = new Rng(1);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    const counts = new Array(3).fill(0);
    for (let i = 0; i < 3000; i++) {
      const u = r.uniform(2, 5);
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      counts[r.int(0, 3)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(2);
    expect(hi).toBeLessThan(5);
    expect(Math.min(...counts)).toBeGreaterThan(900); // ~1000 each
    expect(r.int(4, 5)).toBe(4);
    expect(() => r.int(3, 3)).toThrow(/min < max/);
    expect(['a']).toContain(r.pick(['a']));
    expect(() => r.pick([])).toThrow(/empty/);
  });

  it('normal() has mean ≈ 0 and std ≈ 1 (20k draws, fixed seed)', () => {
    const r = new Rng(5);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(s2 / n - mean * mean) - 1)).toBeLessThan(0.03);
    expect(new Rng(5).normal(10, 0)).toBe(10);
  });

  it('shuffle / permutation return permutations, deterministically', () => {
    const p = new Rng(3).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Rng(3).permutation(50)).toEqual(p);
  });

  it('rejects malformed states', () => {
    const r = new Rng(0);
    expect(() => r.setState([0, 0, 0, 0])).toThrow(/all-zero/);
    expect(() => r.setState([1, 2, 3] as never)).toThrow(/four uint32/);
    expect(() => r.setState([1, 2, 3, 2 ** 32])).toThrow(/four uint32/);
  });
});

describe('deriveSeed / mix32', () => {
  it('is order-sensitive and distinguishes strings and numbers', () => {
    expect(deriveSeed(1, 'a', 2)).toBe(deriveSeed(1, 'a', 2));
    expect(deriveSeed(1, 'a', 2)).not.toBe(deriveSeed(2, 'a', 1));
    expect(deriveSeed('source', 0)).not.toBe(deriveSeed('target-val', 0));
    expect(deriveSeed(2 ** 40)).not.toBe(deriveSeed(0));
    expect(() => deriveSeed(0.5)).toThrow(/safe integer/);
  });

  it('mix32 is a bijection on a sample (no collisions among 100k inputs)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100000; i++) seen.add(mix32(i));
    expect(seen.size).toBe(100000);
  });
});
