import { hsvToRgb } from '../color.js';
import type { Rng } from '../rng.js';
import type { RGB } from './constants.js';

// ---------------------------------------------------------------------------------------------------------------
// Palettes: the look of each domain. Source = rendered, target = "real". Designed once from typical
// synthetic→real gaps (see README), not tuned to any method's results.

const jitter = (rng: Rng, c: RGB, a: number): RGB => [
  c[0] + rng.uniform(-a, a),
  c[1] + rng.uniform(-a, a),
  c[2] + rng.uniform(-a, a),
];
const grey = (rng: Rng, lo: number, hi: number, tint: RGB = [0, 0, 0]): RGB => {
  const g = rng.uniform(lo, hi);
  return [g + tint[0], g + tint[1], g + tint[2]];
};
export const shade = (c: RGB, k: number): RGB => [c[0] * k, c[1] * k, c[2] * k];
const weighted = <T>(rng: Rng, items: ReadonlyArray<readonly [number, T]>): T => {
  let total = 0;
  for (const [w] of items) total += w;
  let u = rng.uniform(0, total);
  for (const [w, v] of items) {
    u -= w;
    if (u < 0) return v;
  }
  return items[items.length - 1][1];
};

export interface Palette {
  skyTop: RGB;
  skyBottom: RGB;
  road: RGB;
  marking: RGB;
  sidewalk: RGB;
  curb: RGB;
  /** Paving joints (target only). */
  joint: RGB | null;
  /** A building's wall and window colours. */
  building(rng: Rng): { wall: RGB; window: RGB; shop: RGB };
  leaf(rng: Rng): RGB;
  trunk(rng: Rng): RGB;
  pole(rng: Rng): RGB;
  person(rng: Rng): { torso: RGB; legs: RGB; skin: RGB };
  car(rng: Rng): { body: RGB; window: RGB; wheel: RGB; light: RGB };
}

export function sourcePalette(rng: Rng): Palette {
  return {
    skyTop: jitter(rng, [95, 155, 235], 6),
    skyBottom: jitter(rng, [175, 210, 245], 6),
    road: jitter(rng, [92, 92, 100], 4),
    marking: [238, 238, 238],
    sidewalk: jitter(rng, [196, 178, 150], 5),
    curb: [215, 210, 200],
    joint: null,
    building: (r) => ({
      wall: jitter(r, [196, 168, 128], 10),
      window: jitter(r, [70, 100, 150], 6),
      shop: jitter(r, [150, 120, 90], 6),
    }),
    leaf: (r) => jitter(r, [62, 158, 52], 10),
    trunk: (r) => jitter(r, [112, 82, 52], 5),
    pole: (r) => jitter(r, [52, 52, 64], 4),
    person: (r) => ({ torso: jitter(r, [205, 45, 60], 10), legs: jitter(r, [150, 35, 50], 8), skin: [235, 190, 160] }),
    car: (r) => ({
      body: jitter(r, [40, 80, 195], 12),
      window: [35, 45, 70],
      wheel: [25, 25, 28],
      light: [240, 60, 40],
    }),
  };
}

/**
 * The `neutral` look's palette: every surface colour drawn uniformly in HSV (any hue, saturation 0.15–0.9, value
 * 0.25–0.95), independently per image and per instance, so no class has the source's or the target's colours (domain
 * randomisation: colour carries no class information, shapes and layout do).
 */
export function neutralPalette(rng: Rng): Palette {
  const any = (r: Rng): RGB => hsvToRgb(r.uniform(), r.uniform(0.15, 0.9), r.uniform(0.25, 0.95));
  return {
    skyTop: any(rng),
    skyBottom: any(rng),
    road: any(rng),
    marking: any(rng),
    sidewalk: any(rng),
    curb: any(rng),
    joint: null,
    building: (r) => ({ wall: any(r), window: any(r), shop: any(r) }),
    leaf: (r) => any(r),
    trunk: (r) => any(r),
    pole: (r) => any(r),
    person: (r) => ({ torso: any(r), legs: any(r), skin: any(r) }),
    car: (r) => ({ body: any(r), window: any(r), wheel: any(r), light: any(r) }),
  };
}

export function targetPalette(rng: Rng): Palette {
  const overcast = rng.bool(0.55);
  const skyTop: RGB = overcast ? grey(rng, 165, 205, [0, 5, 12]) : jitter(rng, [120, 155, 200], 10);
  const skyBottom: RGB = overcast ? grey(rng, 190, 225, [0, 3, 8]) : jitter(rng, [185, 200, 215], 8);
  const road = grey(rng, 55, 88, [9, 4, -4]);
  return {
    skyTop,
    skyBottom,
    road,
    marking: grey(rng, 165, 205, [8, 4, -18]),
    sidewalk: grey(rng, 118, 160, [6, 3, -3]),
    curb: grey(rng, 140, 175, [0, 0, 0]),
    joint: shade(road, 0.9),
    building: (r) => {
      const wall = weighted<() => RGB>(r, [
        [3, () => jitter(r, [148, 72, 52], 14)], // brick
        [3, () => grey(r, 115, 165, [0, 0, 3])], // concrete
        [3, () => jitter(r, [200, 185, 160], 14)], // plaster
        [1, () => grey(r, 60, 90, [0, 4, 10])], // dark cladding
      ])();
      const window = r.bool(0.5) ? grey(r, 25, 50, [0, 2, 5]) : jitter(r, [135, 155, 175], 12);
      return { wall, window, shop: grey(r, 30, 70) };
    },
    leaf: (r) => jitter(r, [70, 88, 40], 10),
    trunk: (r) => jitter(r, [70, 58, 45], 6),
    pole: (r) => (r.bool(0.5) ? grey(r, 95, 135) : jitter(r, [55, 70, 60], 6)),
    person: (r) => ({
      torso: r.pick<RGB>([
        [40, 40, 45],
        [65, 65, 72],
        [95, 45, 42],
        [42, 52, 85],
        [125, 115, 100],
        [150, 150, 150],
      ]),
      legs: r.pick<RGB>([
        [35, 42, 65],
        [30, 30, 32],
        [70, 65, 60],
      ]),
      skin: r.pick<RGB>([
        [205, 160, 130],
        [170, 120, 90],
        [110, 75, 55],
      ]),
    }),
    car: (r) => ({
      body: weighted<RGB>(r, [
        [25, grey(r, 200, 225)], // white
        [20, grey(r, 150, 172, [0, 2, 6])], // silver
        [25, grey(r, 22, 38)], // black
        [10, grey(r, 90, 110)], // grey
        [10, [35, 45, 85]], // dark blue
        [10, [135, 25, 28]], // red
      ]),
      window: grey(r, 28, 45, [0, 3, 6]),
      wheel: [20, 20, 22],
      light: [200, 45, 35],
    }),
  };
}
