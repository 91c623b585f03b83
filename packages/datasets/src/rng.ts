/**
 * A small seeded pseudo-random generator for data pipelines: xoshiro128** (Blackman & Vigna, 2018) with a
 * splitmix32-style seeding hash. 128 bits of state as four uint32 words; the state can be read and written back,
 * so a checkpointed pipeline resumes exactly where it stopped.
 *
 * Not cryptographic. Deterministic across platforms (integer arithmetic only; `normal` uses `Math.log`/`Math.cos`,
 * which V8 computes with the same fdlibm port everywhere).
 */

/** The four uint32 state words of an {@link Rng}. JSON-serialisable. */
export type RngState = [number, number, number, number];

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * One round of a 32-bit integer finaliser (the "lowbias32" mixer): a bijection on uint32 with good avalanche.
 * Used to spread seeds; `mix32(a) !== mix32(b)` whenever `a !== b`.
 */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function hashString(s: string): number {
  // FNV-1a over UTF-16 code units, then mixed.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/**
 * Combines several seed parts (integers or strings) into one uint32 seed, order-sensitive:
 * `deriveSeed(seed, 'target-val', index)` gives every (seed, split, index) its own independent stream.
 * Integers must be safe integers (|x| < 2^53); they are folded as two 32-bit halves.
 */
export function deriveSeed(...parts: Array<number | string>): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let v: number;
    if (typeof p === 'string') {
      v = hashString(p);
    } else {
      if (!Number.isSafeInteger(p)) throw new Error(`deriveSeed: seed part ${p} is not a safe integer`);
      const lo = p >>> 0;
      const hi = Math.floor(p / TWO_POW_32) >>> 0;
      v = mix32(lo ^ mix32(hi + 0x632be5ab));
    }
    h = mix32((h ^ v) + 0x9e3779b9);
  }
  return h;
}

/**
 * Seeded PRNG (xoshiro128**). `new Rng(seed)` for any safe integer seed; `getState()`/`setState()` for checkpoints.
 *
 * @example
 * const rng = new Rng(42);
 * const saved = rng.getState();
 * const a = rng.uniform();
 * rng.setState(saved);
 * rng.uniform() === a; // true
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number | string = 0) {
    this.seed(seed);
  }

  /** Re-seeds the generator (same as constructing a new one with this seed). */
  seed(seed: number | string): void {
    let x = deriveSeed(seed);
    // splitmix32 sequence to fill the four words; never all zero.
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return mix32(x);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A copy of the current state (four uint32 words). */
  getState(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Restores a state returned by {@link Rng.getState}. Throws on malformed input. */
  setState(state: RngState): void {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)
    ) {
      throw new Error(`Rng.setState: expected four uint32 words, got ${JSON.stringify(state)}`);
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0)
      throw new Error('Rng.setState: the all-zero state is invalid');
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** A new generator with the same state (the two then produce the same sequence). */
  clone(): Rng {
    const r = new Rng(0);
    r.setState(this.getState());
    return r;
  }

  /** Next raw uint32 (xoshiro128**: `rotl(s1 * 5, 7) * 9`, then the linear state update). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [min, max) (default [0, 1)), from 32 random bits. */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * (this.nextUint32() / TWO_POW_32);
  }

  /** Uniform integer in [min, max) (max exclusive). Throws if the range is empty. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max <= min) {
      throw new Error(`Rng.int: need integers min < max, got [${min}, ${max})`);
    }
    return min + Math.floor((this.nextUint32() / TWO_POW_32) * (max - min));
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.uniform() < p;
  }

  /** Gaussian sample N(mean, std²) by the Box–Muller transform: `sqrt(-2 ln u1) · cos(2π u2)` (one value per call). */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** One element chosen uniformly. Throws on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty array');
    return items[this.int(0, items.length)];
  }

  /** Shuffles `items` in place (Fisher–Yates, from the end) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A shuffled `[0, 1, …, n-1]`. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(p);
  }
}
