import { Rng } from '../rng.js';
import { BUILDING, CAR, type Domain, PERSON, POLE, type RGB, ROAD, SIDEWALK, SKY, VEG } from './constants.js';
import type { Palette } from './palettes.js';

// ---------------------------------------------------------------------------------------------------------------
// Colour: source = flat palette; target = textured, lit, blurred, noisy.

/** A table of standard normal values (fixed), indexed by random 16-bit numbers: cheap Gaussian sensor noise. */
let normalTable: Float32Array | null = null;
function getNormalTable(): Float32Array {
  if (!normalTable) {
    const r = new Rng('synthcity-normal-table');
    normalTable = new Float32Array(65536);
    for (let i = 0; i < normalTable.length; i++) normalTable[i] = r.normal();
  }
  return normalTable;
}

/** Smooth value noise in [0, 1): a random lattice (spacing `cell` px) interpolated bilinearly, one value per pixel. */
function valueNoise(rng: Rng, W: number, H: number, cell: number): Float32Array {
  const gw = Math.ceil(W / cell) + 2;
  const gh = Math.ceil(H / cell) + 2;
  const g = new Float32Array(gw * gh);
  for (let k = 0; k < g.length; k++) g[k] = rng.uniform();
  const out = new Float32Array(W * H);
  const inv = 1 / cell;
  for (let i = 0; i < H; i++) {
    const fy = i * inv;
    const gy = Math.floor(fy);
    let ty = fy - gy;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = gy * gw;
    const r1 = r0 + gw;
    for (let j = 0; j < W; j++) {
      const fx = j * inv;
      const gx = Math.floor(fx);
      let tx = fx - gx;
      tx = tx * tx * (3 - 2 * tx);
      const a = g[r0 + gx] + (g[r0 + gx + 1] - g[r0 + gx]) * tx;
      const b = g[r1 + gx] + (g[r1 + gx + 1] - g[r1 + gx]) * tx;
      out[i * W + j] = a + (b - a) * ty;
    }
  }
  return out;
}

/** Horizontal box blur of radius r (clamped edges) of a 3-channel float image, src → dst. */
function boxPassH(src: Float32Array, dst: Float32Array, W: number, H: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let i = 0; i < H; i++) {
    const row = i * W * 3;
    for (let c = 0; c < 3; c++) {
      const b = row + c;
      let acc = 0;
      for (let t = -r; t <= r; t++) acc += src[b + 3 * Math.min(W - 1, Math.max(0, t))];
      for (let k = 0; k < W; k++) {
        dst[b + 3 * k] = acc * inv;
        acc += src[b + 3 * Math.min(W - 1, k + r + 1)] - src[b + 3 * Math.max(0, k - r)];
      }
    }
  }
}

/** Vertical box blur of radius r (clamped edges), sweeping whole rows so memory is read in order. */
function boxPassV(src: Float32Array, dst: Float32Array, W: number, H: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const L = W * 3;
  const acc = new Float64Array(L);
  for (let t = -r; t <= r; t++) {
    const o = Math.min(H - 1, Math.max(0, t)) * L;
    for (let q = 0; q < L; q++) acc[q] += src[o + q];
  }
  for (let k = 0; k < H; k++) {
    const o = k * L;
    const add = Math.min(H - 1, k + r + 1) * L;
    const sub = Math.max(0, k - r) * L;
    for (let q = 0; q < L; q++) {
      dst[o + q] = acc[q] * inv;
      acc[q] += src[add + q] - src[sub + q];
    }
  }
}

/**
 * Separable Gaussian blur of a float HWC (3-channel) image in place: an exact kernel for small sigma, three box
 * passes (same variance) for large sigma, so the cost does not grow with the image size.
 */
function gaussianBlur(img: Float32Array, W: number, H: number, sigma: number): void {
  if (sigma < 0.15) return;
  if (sigma >= 2) {
    // Three box passes of radius r have variance 3·((2r+1)² − 1)/12 ≈ σ².
    const r = Math.max(1, Math.round((Math.sqrt(4 * sigma * sigma + 1) - 1) / 2));
    const tmp = new Float32Array(img.length);
    for (let pass = 0; pass < 3; pass++) {
      boxPassH(img, tmp, W, H, r);
      boxPassV(tmp, img, W, H, r);
    }
    return;
  }
  const r = Math.max(1, Math.ceil(sigma * 2.5));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let t = -r; t <= r; t++) {
    k[t + r] = Math.exp(-(t * t) / (2 * sigma * sigma));
    sum += k[t + r];
  }
  for (let t = 0; t < k.length; t++) k[t] /= sum;
  const tmp = new Float32Array(img.length);
  // horizontal (clamped edges)
  for (let i = 0; i < H; i++) {
    const row = i * W;
    for (let j = 0; j < W; j++) {
      let a = 0;
      let b = 0;
      let c = 0;
      for (let t = -r; t <= r; t++) {
        const jj = j + t < 0 ? 0 : j + t >= W ? W - 1 : j + t;
        const w = k[t + r];
        const p = (row + jj) * 3;
        a += img[p] * w;
        b += img[p + 1] * w;
        c += img[p + 2] * w;
      }
      const o = (row + j) * 3;
      tmp[o] = a;
      tmp[o + 1] = b;
      tmp[o + 2] = c;
    }
  }
  // vertical
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      let a = 0;
      let b = 0;
      let c = 0;
      for (let t = -r; t <= r; t++) {
        const ii = i + t < 0 ? 0 : i + t >= H ? H - 1 : i + t;
        const w = k[t + r];
        const p = (ii * W + j) * 3;
        a += tmp[p] * w;
        b += tmp[p + 1] * w;
        c += tmp[p + 2] * w;
      }
      const o = (i * W + j) * 3;
      img[o] = a;
      img[o + 1] = b;
      img[o + 2] = c;
    }
  }
}

/** Texture amplitudes per train id: [fine, coarse]. Target look only. */
const TEXTURE: ReadonlyArray<readonly [number, readonly [number, number]]> = [
  [ROAD, [0.1, 0.12]],
  [SIDEWALK, [0.08, 0.1]],
  [BUILDING, [0.08, 0.14]],
  [POLE, [0.05, 0.05]],
  [VEG, [0.45, 0.2]],
  [SKY, [0.02, 0.1]],
  [PERSON, [0.08, 0.05]],
  [CAR, [0.05, 0.05]],
];
const TEX_FINE = new Float32Array(256);
const TEX_COARSE = new Float32Array(256);
for (const [cls, [a, b]] of TEXTURE) {
  TEX_FINE[cls] = a;
  TEX_COARSE[cls] = b;
}

export function colorize(
  label: Uint8Array,
  mat: Uint8Array,
  W: number,
  H: number,
  pal: number[],
  P: Palette,
  horizon: number,
  domain: Domain,
  rng: Rng,
): Uint8Array {
  const n = W * H;
  const skyRow = (i: number): [number, number, number] => {
    const t = Math.min(1, Math.max(0, i / Math.max(1, horizon)));
    const tt = domain === 'source' ? t : Math.sqrt(t);
    return [
      P.skyTop[0] + (P.skyBottom[0] - P.skyTop[0]) * tt,
      P.skyTop[1] + (P.skyBottom[1] - P.skyTop[1]) * tt,
      P.skyTop[2] + (P.skyBottom[2] - P.skyTop[2]) * tt,
    ];
  };
  if (domain === 'source') {
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < H; i++) {
      const sky = skyRow(i);
      for (let j = 0; j < W; j++) {
        const p = i * W + j;
        const m = mat[p];
        const o = p * 3;
        if (m === 0) {
          out[o] = sky[0];
          out[o + 1] = sky[1];
          out[o + 2] = sky[2];
        } else {
          out[o] = pal[3 * m];
          out[o + 1] = pal[3 * m + 1];
          out[o + 2] = pal[3 * m + 2];
        }
      }
    }
    return out;
  }

  // Target: the "real" look. All constants below were fixed before any training run (see README).
  const scale = W / 160;
  const fine = valueNoise(rng, W, H, Math.max(1.5, 1.6 * scale));
  const coarse = valueNoise(rng, W, H, 10 * scale);
  const light = valueNoise(rng, W, H, 45 * scale);
  const lightAmp = rng.uniform(0.15, 0.35);
  const vignette = rng.uniform(0.1, 0.35);
  const gain = rng.uniform(0.65, 1.1);
  const gamma = rng.uniform(0.8, 1.3);
  const sat = rng.uniform(0.55, 0.85);
  const wb: RGB = [1 + rng.uniform(-0.1, 0.12), 1, 1 + rng.uniform(-0.12, 0.1)];
  const blur = rng.uniform(0.45, 1.0) * scale;
  const noiseStd = rng.uniform(2, 7);
  const img = new Float32Array(n * 3);
  const cxv = W / 2;
  const cyv = H / 2;
  const rn = 1 / (cxv * cxv + cyv * cyv);
  const palF = Float32Array.from(pal);
  for (let i = 0; i < H; i++) {
    const sky = skyRow(i);
    palF[0] = sky[0];
    palF[1] = sky[1];
    palF[2] = sky[2];
    const dy = i - cyv;
    for (let j = 0; j < W; j++) {
      const p = i * W + j;
      const m3 = 3 * mat[p];
      const cls = label[p];
      let t = 1 + TEX_FINE[cls] * (fine[p] - 0.5) * 2 + TEX_COARSE[cls] * (coarse[p] - 0.5) * 2;
      if (cls !== SKY) t *= 1 + lightAmp * (light[p] - 0.5) * 2;
      const dx = j - cxv;
      t *= 1 - vignette * (dx * dx + dy * dy) * rn;
      img[3 * p] = palF[m3] * t;
      img[3 * p + 1] = palF[m3 + 1] * t;
      img[3 * p + 2] = palF[m3 + 2] * t;
    }
  }
  gaussianBlur(img, W, H, blur);
  // camera response: white balance, saturation, exposure gain and gamma, then sensor noise and quantisation
  const lut = new Float32Array(1024);
  for (let v = 0; v < 1024; v++) lut[v] = 255 * Math.min(1, (v / 1023) * gain) ** gamma;
  const nt = getNormalTable();
  const k1023 = 1023 / 255;
  const out = new Uint8ClampedArray(n * 3); // assignment rounds half to even and clamps to 0..255
  for (let p = 0; p < n; p++) {
    const o = 3 * p;
    let r = img[o] * wb[0];
    let g = img[o + 1] * wb[1];
    let b = img[o + 2] * wb[2];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    r = y + sat * (r - y);
    g = y + sat * (g - y);
    b = y + sat * (b - y);
    const u = rng.nextUint32();
    const u2 = (u * 7919) >>> 0;
    const ri = r <= 0 ? 0 : r >= 255 ? 1023 : (r * k1023 + 0.5) | 0;
    const gi = g <= 0 ? 0 : g >= 255 ? 1023 : (g * k1023 + 0.5) | 0;
    const bi = b <= 0 ? 0 : b >= 255 ? 1023 : (b * k1023 + 0.5) | 0;
    // Uint8ClampedArray-style rounding and clamping are done by `out` (see below).
    out[o] = lut[ri] + noiseStd * nt[u >>> 16];
    out[o + 1] = lut[gi] + noiseStd * nt[u & 0xffff];
    out[o + 2] = lut[bi] + noiseStd * nt[u2 >>> 16];
  }
  return new Uint8Array(out.buffer);
}
