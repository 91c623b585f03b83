/**
 * SynthCity: a built-in street-scene segmentation benchmark, generated on the fly from a seed (no download).
 *
 * Every image is a pinhole-camera view of a procedurally laid out street: sky, building rows with windows on both
 * sides (sometimes closed by a cross row at the street's end), a road with lanes, dashed/edge lines and zebra
 * crossings, sidewalks with curbs, street lights, trees, cars (rear/front and side faces, windows, wheels) and
 * pedestrians, all placed in 3-D world coordinates so sizes follow depth. Labels are Cityscapes train ids
 * ({@link SYNTHCITY_CLASSES}); other train ids never occur.
 *
 * Two looks over the same scene distribution (see README "SynthCity"):
 * - `source` — "rendered": flat, saturated class colours with small per-instance variation, simple face shading,
 *   sharp edges, fixed camera (height 1.6 m, no roll, little pitch jitter).
 * - `target-*` / `pretrain` — "real": a different palette per class (darker warm asphalt, brick/concrete/plaster
 *   buildings, olive vegetation, realistic car paints, dark clothing, paler/overcast skies), surface textures (value
 *   noise, paving joints), an uneven illumination field and vignetting, exposure/gamma/white-balance/saturation
 *   changes, optical blur and sensor noise, and a different camera (lower, different focal length, horizon jitter and
 *   roll).
 *
 * Determinism: image `i` of split `s` under seed `k` depends on `(k, s, i, width, height)` only.
 */
import { hsvToRgb } from './color.js';
import { deriveSeed, Rng } from './rng.js';
import type { Dataset, Sample } from './types.js';

/** The Cityscapes train ids that SynthCity uses. */
export const SYNTHCITY_CLASSES = {
  road: 0,
  sidewalk: 1,
  building: 2,
  pole: 5,
  vegetation: 8,
  sky: 10,
  person: 11,
  car: 13,
} as const;

/**
 * SynthCity splits: labelled `source`; target-look `target-train` (adaptation), `target-val` (selection only) and
 * `target-test` (reported numbers; nothing is tuned on it); unlabeled pools `neutral` (a third look, neither source
 * nor target: the stand-in for ImageNet when pretraining a teacher) and `pretrain` (target look, kept for old runs).
 */
export type SynthCitySplit = 'source' | 'target-train' | 'target-val' | 'target-test' | 'pretrain' | 'neutral';

/** Default number of images per split (the generator can make any number; `length` overrides). */
export const SYNTHCITY_DEFAULT_LENGTHS: Readonly<Record<SynthCitySplit, number>> = {
  source: 2000,
  'target-train': 2000,
  'target-val': 200,
  'target-test': 500,
  pretrain: 4000,
  neutral: 4000,
};

const SPLITS: readonly SynthCitySplit[] = [
  'source',
  'target-train',
  'target-val',
  'target-test',
  'pretrain',
  'neutral',
];
/** Splits whose samples carry no label. */
const UNLABELED: readonly SynthCitySplit[] = ['pretrain', 'neutral'];

const { road: ROAD, sidewalk: SIDEWALK, building: BUILDING, pole: POLE, vegetation: VEG, sky: SKY } = SYNTHCITY_CLASSES;
const PERSON = SYNTHCITY_CLASSES.person;
const CAR = SYNTHCITY_CLASSES.car;

type RGB = [number, number, number];
type Domain = 'source' | 'target' | 'neutral';

// ---------------------------------------------------------------------------------------------------------------
// Raster canvas: a label plane and a material plane (index into a per-image palette). Colour comes later.

class Canvas {
  readonly label: Uint8Array;
  readonly mat: Uint8Array;
  /** Palette: r,g,b per material; material 0 is the sky gradient. */
  readonly pal: number[] = [0, 0, 0];

  constructor(
    readonly W: number,
    readonly H: number,
  ) {
    this.label = new Uint8Array(W * H).fill(SKY);
    this.mat = new Uint8Array(W * H);
  }

  color(c: RGB): number {
    const n = this.pal.length / 3;
    if (n >= 255) return n - 1; // palette full: reuse the last entry (never happens with the scene budget below)
    this.pal.push(c[0], c[1], c[2]);
    return n;
  }

  /** Pixels whose centre lies in [x0, x1) × [y0, y1). */
  rect(x0: number, y0: number, x1: number, y1: number, cls: number, m: number): void {
    const j0 = Math.max(0, Math.ceil(x0 - 0.5));
    const j1 = Math.min(this.W, Math.ceil(x1 - 0.5));
    const i0 = Math.max(0, Math.ceil(y0 - 0.5));
    const i1 = Math.min(this.H, Math.ceil(y1 - 0.5));
    if (j1 <= j0) return; // (also guards fill(): negative indices would count from the end)
    for (let i = i0; i < i1; i++) {
      const r = i * this.W;
      this.label.fill(cls, r + j0, r + j1);
      this.mat.fill(m, r + j0, r + j1);
    }
  }

  /** A rectangle at least one pixel wide (thin far poles stay visible and labelled). */
  thinRect(xc: number, halfW: number, y0: number, y1: number, cls: number, m: number): void {
    const h = Math.max(halfW, 0.5);
    this.rect(xc - h, y0, xc + h, y1, cls, m);
  }

  /** Simple polygon (flat x,y list), even–odd rule on pixel centres. */
  poly(pts: number[], cls: number, m: number): void {
    const n = pts.length / 2;
    let ymin = Number.POSITIVE_INFINITY;
    let ymax = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      ymin = Math.min(ymin, pts[2 * k + 1]);
      ymax = Math.max(ymax, pts[2 * k + 1]);
    }
    const i0 = Math.max(0, Math.ceil(ymin - 0.5));
    const i1 = Math.min(this.H, Math.ceil(ymax - 0.5));
    const xs: number[] = [];
    for (let i = i0; i < i1; i++) {
      const yc = i + 0.5;
      xs.length = 0;
      for (let k = 0; k < n; k++) {
        const xa = pts[2 * k];
        const ya = pts[2 * k + 1];
        const xb = pts[(2 * k + 2) % (2 * n)];
        const yb = pts[(2 * k + 3) % (2 * n)];
        if ((ya <= yc && yb > yc) || (yb <= yc && ya > yc)) xs.push(xa + ((yc - ya) * (xb - xa)) / (yb - ya));
      }
      xs.sort((a, b) => a - b);
      const r = i * this.W;
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const j0 = Math.max(0, Math.ceil(xs[k] - 0.5));
        const j1 = Math.min(this.W, Math.ceil(xs[k + 1] - 0.5));
        if (j1 > j0) {
          this.label.fill(cls, r + j0, r + j1);
          this.mat.fill(m, r + j0, r + j1);
        }
      }
    }
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, cls: number, m: number): void {
    rx = Math.max(rx, 0.5);
    ry = Math.max(ry, 0.5);
    const i0 = Math.max(0, Math.ceil(cy - ry - 0.5));
    const i1 = Math.min(this.H, Math.ceil(cy + ry - 0.5));
    for (let i = i0; i < i1; i++) {
      const dy = (i + 0.5 - cy) / ry;
      const half = rx * Math.sqrt(Math.max(0, 1 - dy * dy));
      const j0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const j1 = Math.min(this.W, Math.ceil(cx + half - 0.5));
      if (j1 > j0) {
        const r = i * this.W;
        this.label.fill(cls, r + j0, r + j1);
        this.mat.fill(m, r + j0, r + j1);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Camera: pinhole, looking down the street (+Z), X to the right, Y up, ground at Y = 0.

interface Camera {
  f: number;
  cx: number;
  /** Horizon row. */
  cy: number;
  /** Camera height (m). */
  hc: number;
}

function px(cam: Camera, X: number, Z: number): number {
  return cam.cx + (cam.f * X) / Z;
}
function py(cam: Camera, Y: number, Z: number): number {
  return cam.cy - (cam.f * (Y - cam.hc)) / Z;
}

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
const shade = (c: RGB, k: number): RGB => [c[0] * k, c[1] * k, c[2] * k];
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

interface Palette {
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

function sourcePalette(rng: Rng): Palette {
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
function neutralPalette(rng: Rng): Palette {
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

function targetPalette(rng: Rng): Palette {
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

// ---------------------------------------------------------------------------------------------------------------
// Scene

interface SceneObject {
  z: number;
  draw(): void;
}

interface Street {
  roadL: number;
  roadR: number;
  laneW: number;
  nLanes: number;
  swL: number;
  swR: number;
  zEnd: number;
}

function drawGround(cv: Canvas, cam: Camera, st: Street, P: Palette, mats: GroundMats, zebra: [number, number] | null) {
  const { W, H } = cv;
  const i0 = Math.max(0, Math.ceil(cam.cy - 0.5 + 1e-9));
  const lines: number[] = [];
  for (let k = 1; k < st.nLanes; k++) lines.push(st.roadL + k * st.laneW);
  const center = st.roadL + Math.round(st.nLanes / 2) * st.laneW;
  for (let i = i0; i < H; i++) {
    const dy = i + 0.5 - cam.cy;
    if (dy <= 0) continue;
    const Z = (cam.f * cam.hc) / dy;
    const dashOn = Z % 9 < 3.5;
    const onZebra = zebra !== null && Z >= zebra[0] && Z < zebra[1];
    const jointRow = P.joint !== null && Z % 1.2 < 0.08;
    const row = i * W;
    const k = Z / cam.f;
    for (let j = 0; j < W; j++) {
      const X = (j + 0.5 - cam.cx) * k;
      let cls: number;
      let m: number;
      if (X >= st.roadL && X < st.roadR) {
        cls = ROAD;
        m = mats.road;
        if (onZebra) {
          if (X - st.roadL > 0.5 && X < st.roadR - 0.5 && (X - st.roadL) % 1.0 < 0.5) m = mats.marking;
        } else if (X - st.roadL < 0.35 && X - st.roadL > 0.2) m = mats.marking;
        else if (st.roadR - X < 0.35 && st.roadR - X > 0.2) m = mats.marking;
        else {
          for (const lx of lines) {
            if (Math.abs(X - lx) < 0.08 && (dashOn || lx === center)) m = mats.marking;
          }
        }
      } else {
        cls = SIDEWALK;
        const d = X < st.roadL ? st.roadL - X : X - st.roadR;
        m = d < 0.25 ? mats.curb : mats.sidewalk;
        if (m === mats.sidewalk && P.joint !== null && (jointRow || d % 1.2 < 0.08)) m = mats.joint;
      }
      cv.label[row + j] = cls;
      cv.mat[row + j] = m;
    }
  }
}

interface GroundMats {
  road: number;
  marking: number;
  sidewalk: number;
  curb: number;
  joint: number;
}

interface WindowGrid {
  floorH: number;
  bayW: number;
  winW: number;
  winH: number;
  sill: number;
  groundH: number;
}

function windowAt(g: WindowGrid, along: number, Y: number): 0 | 1 | 2 {
  // 0 wall, 1 window, 2 shop window (ground floor)
  if (Y < g.groundH) {
    const b = along % (g.bayW * 2);
    return Y > 0.3 && Y < g.groundH - 0.6 && b > 0.4 && b < g.bayW * 2 - 0.4 ? 2 : 0;
  }
  const fy = (Y - g.groundH) % g.floorH;
  if (fy < g.sill || fy > g.sill + g.winH) return 0;
  const b = along % g.bayW;
  const half = g.winW / 2;
  return Math.abs(b - g.bayW / 2) < half ? 1 : 0;
}

/** A facade on the plane X = xb between depths z0..z1, height hb. */
function drawFacade(
  cv: Canvas,
  cam: Camera,
  xb: number,
  z0: number,
  z1: number,
  hb: number,
  grid: WindowGrid,
  mats: [number, number, number],
) {
  const za = Math.max(z0, 0.3);
  const xa = px(cam, xb, za);
  const xe = px(cam, xb, z1);
  const j0 = Math.max(0, Math.ceil(Math.min(xa, xe) - 0.5));
  const j1 = Math.min(cv.W, Math.ceil(Math.max(xa, xe) - 0.5));
  for (let j = j0; j < j1; j++) {
    const dx = j + 0.5 - cam.cx;
    if (dx * xb <= 0) continue;
    const Z = (cam.f * xb) / dx;
    if (Z < za || Z > z1) continue;
    const yb = py(cam, 0, Z);
    const yt = py(cam, hb, Z);
    const i0 = Math.max(0, Math.ceil(yt - 0.5));
    const i1 = Math.min(cv.H, Math.ceil(yb - 0.5));
    const along = Z - z0;
    const k = Z / cam.f;
    for (let i = i0; i < i1; i++) {
      const Y = cam.hc - (i + 0.5 - cam.cy) * k;
      const o = i * cv.W + j;
      cv.label[o] = BUILDING;
      cv.mat[o] = mats[windowAt(grid, along, Y)];
    }
  }
}

/** A frontal wall on the plane Z = z between X = xa..xb, height hb (building ends and the street's far end). */
function drawFrontWall(
  cv: Canvas,
  cam: Camera,
  z: number,
  xa: number,
  xb: number,
  hb: number,
  grid: WindowGrid,
  mats: [number, number, number],
) {
  const x0 = px(cam, Math.min(xa, xb), z);
  const x1 = px(cam, Math.max(xa, xb), z);
  const y0 = py(cam, hb, z);
  const y1 = py(cam, 0, z);
  const j0 = Math.max(0, Math.ceil(x0 - 0.5));
  const j1 = Math.min(cv.W, Math.ceil(x1 - 0.5));
  const i0 = Math.max(0, Math.ceil(y0 - 0.5));
  const i1 = Math.min(cv.H, Math.ceil(y1 - 0.5));
  const k = z / cam.f;
  const xmin = Math.min(xa, xb);
  for (let i = i0; i < i1; i++) {
    const Y = cam.hc - (i + 0.5 - cam.cy) * k;
    for (let j = j0; j < j1; j++) {
      const X = (j + 0.5 - cam.cx) * k;
      const o = i * cv.W + j;
      cv.label[o] = BUILDING;
      cv.mat[o] = mats[windowAt(grid, X - xmin, Y)];
    }
  }
}

function makeGrid(rng: Rng): WindowGrid {
  const floorH = rng.uniform(2.9, 3.6);
  const bayW = rng.uniform(2.2, 3.6);
  return {
    floorH,
    bayW,
    winW: bayW * rng.uniform(0.35, 0.6),
    winH: floorH * rng.uniform(0.4, 0.6),
    sill: floorH * rng.uniform(0.2, 0.3),
    groundH: rng.uniform(3.5, 4.5),
  };
}

function drawTree(cv: Canvas, cam: Camera, X: number, Z: number, rng: Rng, leaf: number, trunk: number): SceneObject {
  const trunkH = rng.uniform(2.2, 3.5);
  const r = rng.uniform(1.4, 2.8);
  const blobs: Array<[number, number, number]> = [[0, trunkH + r * 0.75, r]];
  const extra = rng.int(1, 4);
  for (let b = 0; b < extra; b++) {
    blobs.push([rng.uniform(-0.8, 0.8) * r, trunkH + r * rng.uniform(0.4, 1.3), r * rng.uniform(0.5, 0.8)]);
  }
  return {
    z: Z,
    draw() {
      const s = cam.f / Z;
      cv.thinRect(px(cam, X, Z), 0.14 * s, py(cam, trunkH + r * 0.3, Z), py(cam, 0, Z), VEG, trunk);
      for (const [bx, by, br] of blobs) cv.ellipse(px(cam, X + bx, Z), py(cam, by, Z), br * s, br * s * 0.9, VEG, leaf);
    },
  };
}

function drawLamp(cv: Canvas, cam: Camera, X: number, Z: number, dir: number, h: number, m: number): SceneObject {
  return {
    z: Z,
    draw() {
      const s = cam.f / Z;
      const x = px(cam, X, Z);
      cv.thinRect(x, 0.1 * s, py(cam, h, Z), py(cam, 0, Z), POLE, m);
      const armEnd = px(cam, X + dir * 1.8, Z);
      const yArm = py(cam, h - 0.05, Z);
      cv.rect(
        Math.min(x, armEnd),
        yArm - Math.max(0.06 * s, 0.5),
        Math.max(x, armEnd),
        yArm + Math.max(0.06 * s, 0.5),
        POLE,
        m,
      );
      cv.rect(armEnd - 0.3 * s, yArm, armEnd + 0.3 * s, yArm + 0.18 * s, POLE, m);
    },
  };
}

function drawSignPole(cv: Canvas, cam: Camera, X: number, Z: number, h: number, m: number): SceneObject {
  return {
    z: Z,
    draw() {
      const s = cam.f / Z;
      cv.thinRect(px(cam, X, Z), 0.05 * s, py(cam, h, Z), py(cam, 0, Z), POLE, m);
    },
  };
}

function drawPerson(cv: Canvas, cam: Camera, X: number, Z: number, rng: Rng, mats: [number, number, number]) {
  const h = rng.uniform(1.55, 1.9);
  const w = h * rng.uniform(0.24, 0.3);
  const stride = rng.uniform(0, 0.18) * h;
  const [torsoM, legsM, skinM] = mats;
  return {
    z: Z,
    draw() {
      const s = cam.f / Z;
      const x = px(cam, X, Z);
      const yg = py(cam, 0, Z);
      const hip = py(cam, 0.48 * h, Z);
      const shoulder = py(cam, 0.82 * h, Z);
      const hw = (w / 2) * s;
      // legs (as a slightly spread polygon pair)
      cv.poly(
        [x - hw * 0.85, hip, x - 0.05 * s, hip, x - stride * 0.5 * s, yg, x - hw * 0.9 - stride * 0.5 * s, yg],
        PERSON,
        legsM,
      );
      cv.poly(
        [x + 0.05 * s, hip, x + hw * 0.85, hip, x + hw * 0.9 + stride * 0.5 * s, yg, x + stride * 0.5 * s, yg],
        PERSON,
        legsM,
      );
      // torso + arms
      cv.poly(
        [x - hw, shoulder, x + hw, shoulder, x + hw * 0.9, hip + 0.02 * h * s, x - hw * 0.9, hip + 0.02 * h * s],
        PERSON,
        torsoM,
      );
      cv.rect(x - hw * 1.25, shoulder + 0.02 * h * s, x - hw * 0.95, py(cam, 0.45 * h, Z), PERSON, torsoM);
      cv.rect(x + hw * 0.95, shoulder + 0.02 * h * s, x + hw * 1.25, py(cam, 0.45 * h, Z), PERSON, torsoM);
      // neck + head
      const headR = 0.11 * h * s * 0.62;
      cv.ellipse(x, py(cam, h - 0.07 * h, Z), headR * 0.85, headR, PERSON, skinM);
    },
  };
}

function drawCar(
  cv: Canvas,
  cam: Camera,
  X: number,
  Z: number,
  rng: Rng,
  mats: { body: number; dark: number; window: number; wheel: number; light: number },
): SceneObject {
  const w = rng.uniform(1.7, 1.95);
  const L = rng.uniform(3.9, 4.8);
  const hb = rng.uniform(0.95, 1.1); // top of the body
  const h = rng.uniform(1.4, 1.65); // roof
  const inset = 0.14;
  return {
    z: Z,
    draw() {
      const left = X - w / 2;
      const right = X + w / 2;
      // Side face: visible when the car is off the camera axis.
      const side = X > w / 2 ? left : X < -w / 2 ? right : null;
      if (side !== null) {
        const q = (Y: number, z: number): [number, number] => [px(cam, side, z), py(cam, Y, z)];
        const quad = (pts: Array<[number, number]>, m: number) => cv.poly(pts.flat(), CAR, m);
        quad([q(0.25, Z), q(0.25, Z + L), q(hb, Z + L), q(hb, Z)], mats.dark);
        quad([q(hb, Z + 0.9), q(hb, Z + L - 0.6), q(h, Z + L - 1.2), q(h, Z + 1.4)], mats.body);
        quad(
          [q(hb + 0.05, Z + 1.05), q(hb + 0.05, Z + L - 0.75), q(h - 0.06, Z + L - 1.28), q(h - 0.06, Z + 1.48)],
          mats.window,
        );
        for (const wz of [Z + 0.75, Z + L - 0.8]) {
          const s2 = cam.f / wz;
          cv.ellipse(px(cam, side, wz), py(cam, 0.32, wz), 0.2 * s2, 0.32 * s2, CAR, mats.wheel);
        }
      }
      const s = cam.f / Z;
      const x0 = px(cam, left, Z);
      const x1 = px(cam, right, Z);
      const yg = py(cam, 0, Z);
      // wheels under the rear/front face
      cv.rect(x0 + 0.05 * s, py(cam, 0.4, Z), x0 + 0.3 * s, yg, CAR, mats.wheel);
      cv.rect(x1 - 0.3 * s, py(cam, 0.4, Z), x1 - 0.05 * s, yg, CAR, mats.wheel);
      // body, bumper shadow, lights
      cv.rect(x0, py(cam, hb, Z), x1, py(cam, 0.22, Z), CAR, mats.body);
      cv.rect(x0, py(cam, 0.45, Z), x1, py(cam, 0.3, Z), CAR, mats.dark);
      cv.rect(x0 + 0.05 * s, py(cam, 0.85, Z), x0 + 0.3 * s, py(cam, 0.7, Z), CAR, mats.light);
      cv.rect(x1 - 0.3 * s, py(cam, 0.85, Z), x1 - 0.05 * s, py(cam, 0.7, Z), CAR, mats.light);
      // cabin + rear window
      const c0 = px(cam, left + inset, Z + 0.3);
      const c1 = px(cam, right - inset, Z + 0.3);
      const yRoof = py(cam, h, Z + 0.3);
      cv.poly([x0, py(cam, hb, Z), x1, py(cam, hb, Z), c1, yRoof, c0, yRoof], CAR, mats.body);
      const s3 = cam.f / (Z + 0.3);
      cv.poly(
        [
          x0 + 0.12 * s,
          py(cam, hb + 0.04, Z),
          x1 - 0.12 * s,
          py(cam, hb + 0.04, Z),
          c1 - 0.06 * s3,
          yRoof + 0.06 * s3,
          c0 + 0.06 * s3,
          yRoof + 0.06 * s3,
        ],
        CAR,
        mats.window,
      );
    },
  };
}

interface Look {
  domain: Domain;
  cam: Camera;
  roll: number;
  palette: Palette;
}

/** Lays out and rasterises one scene into label/material planes (canvas may be larger than the image: roll margin). */
function buildScene(rng: Rng, cv: Canvas, look: Look): void {
  const { cam, palette: P } = look;
  const laneW = rng.uniform(3.0, 3.7);
  const nLanes = rng.int(2, 5);
  const camLane = rng.int(0, nLanes);
  const roadL = -laneW * (camLane + 0.5) + rng.uniform(-0.5, 0.5);
  const roadR = roadL + nLanes * laneW;
  const st: Street = {
    roadL,
    roadR,
    laneW,
    nLanes,
    swL: rng.uniform(2.0, 5.0),
    swR: rng.uniform(2.0, 5.0),
    zEnd: rng.uniform(45, 260),
  };
  const gm: GroundMats = {
    road: cv.color(P.road),
    marking: cv.color(P.marking),
    sidewalk: cv.color(P.sidewalk),
    curb: cv.color(P.curb),
    joint: cv.color(P.joint ?? P.sidewalk),
  };
  const zebra: [number, number] | null = rng.bool(0.3) ? [rng.uniform(8, 30), 0] : null;
  if (zebra) zebra[1] = zebra[0] + rng.uniform(3, 4.5);

  // Lighting of faces: which side is sunlit.
  const sun = rng.bool(0.5) ? 1 : -1;
  const sideShade = (side: number) => (side === sun ? 1.0 : look.domain === 'source' ? 0.78 : 0.7);

  const objects: SceneObject[] = [];
  const buildingMats = (side: number, face: 'side' | 'front'): [number, number, number] => {
    const b = P.building(rng);
    const k = face === 'front' ? 0.9 : sideShade(side);
    return [cv.color(shade(b.wall, k)), cv.color(shade(b.window, k)), cv.color(shade(b.shop, k))];
  };

  // Sky is material 0 (gradient); ground next.
  drawGround(cv, cam, st, P, gm, zebra);

  // Far end of the street: a cross row of buildings (or open view with distant low blocks).
  const xFarL = st.roadL - st.swL - 30;
  const xFarR = st.roadR + st.swR + 30;
  if (rng.bool(0.6)) {
    let x = xFarL;
    while (x < xFarR) {
      const wB = rng.uniform(8, 25);
      drawFrontWall(cv, cam, st.zEnd + 12, x, x + wB, rng.uniform(8, 28), makeGrid(rng), buildingMats(0, 'front'));
      x += wB;
    }
  } else {
    let x = xFarL - 60;
    while (x < xFarR + 60) {
      const wB = rng.uniform(10, 40);
      if (rng.bool(0.7)) {
        drawFrontWall(
          cv,
          cam,
          st.zEnd + rng.uniform(60, 200),
          x,
          x + wB,
          rng.uniform(6, 40),
          makeGrid(rng),
          buildingMats(0, 'front'),
        );
      }
      x += wB + rng.uniform(0, 15);
    }
  }

  // Building rows on both sides, drawn far to near.
  const leafM = () => cv.color(P.leaf(rng));
  const trunkM = () => cv.color(P.trunk(rng));
  for (const side of [-1, 1]) {
    const curbX = side < 0 ? st.roadL : st.roadR;
    const sw = side < 0 ? st.swL : st.swR;
    const facadeX = curbX + side * sw;
    const blocks: Array<() => void> = [];
    let z = rng.uniform(-6, 2);
    while (z < st.zEnd) {
      const len = rng.uniform(8, 32);
      const z0 = z;
      const z1 = Math.min(z + len, st.zEnd);
      const kind = rng.uniform();
      if (kind < 0.75) {
        const setback = rng.bool(0.3) ? rng.uniform(0.5, 3) : 0;
        const xb = facadeX + side * setback;
        const hb = rng.uniform(7, 30);
        const grid = makeGrid(rng);
        const sideMats = buildingMats(side, 'side');
        const frontMats = buildingMats(side, 'front');
        blocks.push(() => {
          if (z0 > 0.5) drawFrontWall(cv, cam, z0, xb, xb + side * 25, hb, grid, frontMats);
          drawFacade(cv, cam, xb, z0, z1, hb, grid, sideMats);
        });
      } else if (kind < 0.9) {
        // a park: hedge along the facade line plus trees
        const lm = leafM();
        const tm = trunkM();
        const hedge = rng.uniform(0.8, 1.4);
        blocks.push(() => drawFacadeSolid(cv, cam, facadeX + side * 0.5, z0, z1, hedge, VEG, lm));
        for (let tz = z0 + rng.uniform(1, 4); tz < z1; tz += rng.uniform(4, 8)) {
          objects.push(drawTree(cv, cam, facadeX + side * rng.uniform(1, 4), tz, rng, lm, tm));
        }
      }
      // else: a gap showing what is behind (far buildings / sky)
      z = z1 + (rng.bool(0.25) ? rng.uniform(1, 6) : 0);
    }
    for (let b = blocks.length - 1; b >= 0; b--) blocks[b]();

    // Street furniture on this side
    const poleM = cv.color(P.pole(rng));
    if (rng.bool(0.8)) {
      const h = rng.uniform(6.5, 9);
      const spacing = rng.uniform(16, 30);
      for (let pz = rng.uniform(3, spacing); pz < st.zEnd; pz += spacing) {
        objects.push(drawLamp(cv, cam, curbX + side * 0.5, pz, -side, h, poleM));
      }
    }
    const nSigns = rng.int(0, 3);
    for (let k = 0; k < nSigns; k++) {
      objects.push(
        drawSignPole(cv, cam, curbX + side * rng.uniform(0.4, 0.8), rng.uniform(5, 60), rng.uniform(2.5, 3.5), poleM),
      );
    }
    if (rng.bool(0.6)) {
      const spacing = rng.uniform(7, 14);
      const lm = leafM();
      const tm = trunkM();
      for (let tz = rng.uniform(2, spacing); tz < Math.min(st.zEnd, 120); tz += spacing * rng.uniform(0.8, 1.2)) {
        objects.push(drawTree(cv, cam, curbX + side * rng.uniform(0.8, 1.4), tz, rng, lm, tm));
      }
    }
    const nPeople = rng.int(0, 7);
    for (let k = 0; k < nPeople; k++) {
      const p = P.person(rng);
      const mats: [number, number, number] = [cv.color(p.torso), cv.color(p.legs), cv.color(p.skin)];
      const X = curbX + side * rng.uniform(0.6, Math.max(0.8, sw - 0.4));
      objects.push(drawPerson(cv, cam, X, rng.uniform(4, 60), rng, mats));
    }
  }
  if (zebra && rng.bool(0.6)) {
    const n = rng.int(1, 4);
    for (let k = 0; k < n; k++) {
      const p = P.person(rng);
      const mats: [number, number, number] = [cv.color(p.torso), cv.color(p.legs), cv.color(p.skin)];
      objects.push(
        drawPerson(cv, cam, rng.uniform(st.roadL + 0.5, st.roadR - 0.5), rng.uniform(zebra[0], zebra[1]), rng, mats),
      );
    }
  }

  // Cars: moving traffic per lane, parked cars along curbs.
  const carMats = () => {
    const c = P.car(rng);
    return {
      body: cv.color(c.body),
      dark: cv.color(shade(c.body, 0.75)),
      window: cv.color(c.window),
      wheel: cv.color(c.wheel),
      light: cv.color(c.light),
    };
  };
  for (let lane = 0; lane < nLanes; lane++) {
    const n = rng.int(0, 3);
    let zc = rng.uniform(lane === camLane ? 9 : 4, 25);
    for (let k = 0; k < n && zc < Math.min(st.zEnd, 140); k++) {
      objects.push(drawCar(cv, cam, st.roadL + (lane + 0.5) * laneW + rng.uniform(-0.3, 0.3), zc, rng, carMats()));
      zc += rng.uniform(8, 40);
    }
  }
  for (const side of [-1, 1]) {
    if (!rng.bool(0.5)) continue;
    const curbX = side < 0 ? st.roadL : st.roadR;
    let zc = rng.uniform(2, 12);
    while (zc < Math.min(st.zEnd, 90)) {
      if (rng.bool(0.7)) objects.push(drawCar(cv, cam, curbX - side * 1.1, zc, rng, carMats()));
      zc += rng.uniform(5.2, 9);
    }
  }

  objects.sort((a, b) => b.z - a.z);
  for (const o of objects) if (o.z > 0.5) o.draw();
}

/** A plain vertical band on the plane X = xb (hedges), z0..z1, height h. */
function drawFacadeSolid(
  cv: Canvas,
  cam: Camera,
  xb: number,
  z0: number,
  z1: number,
  h: number,
  cls: number,
  m: number,
) {
  const za = Math.max(z0, 0.3);
  const xa = px(cam, xb, za);
  const xe = px(cam, xb, z1);
  const j0 = Math.max(0, Math.ceil(Math.min(xa, xe) - 0.5));
  const j1 = Math.min(cv.W, Math.ceil(Math.max(xa, xe) - 0.5));
  for (let j = j0; j < j1; j++) {
    const dx = j + 0.5 - cam.cx;
    if (dx * xb <= 0) continue;
    const Z = (cam.f * xb) / dx;
    if (Z < za || Z > z1) continue;
    const i0 = Math.max(0, Math.ceil(py(cam, h, Z) - 0.5));
    const i1 = Math.min(cv.H, Math.ceil(py(cam, 0, Z) - 0.5));
    for (let i = i0; i < i1; i++) {
      cv.label[i * cv.W + j] = cls;
      cv.mat[i * cv.W + j] = m;
    }
  }
}

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

function colorize(
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

// ---------------------------------------------------------------------------------------------------------------

function makeLook(domain: Domain, rng: Rng, W: number, H: number): Look {
  if (domain === 'source') {
    // Game-like camera: fixed height and lens, no roll, small pitch variation.
    const cam: Camera = { f: 0.85 * W, cx: W / 2, cy: H * rng.uniform(0.4, 0.44), hc: 1.6 };
    return { domain, cam, roll: 0, palette: sourcePalette(rng) };
  }
  // Target: a car-mounted camera — lower, longer lens, pitch (horizon) jitter and roll. Neutral: neither camera —
  // height, lens and horizon drawn over a range that covers both. Same draws in the same order for both.
  const neutral = domain === 'neutral';
  const cam: Camera = {
    f: (neutral ? rng.uniform(0.75, 1.15) : rng.uniform(0.92, 1.05)) * W,
    cx: W / 2 + rng.uniform(-0.03, 0.03) * W,
    cy: H * (neutral ? rng.uniform(0.36, 0.56) : rng.uniform(0.4, 0.52)),
    hc: neutral ? rng.uniform(1.1, 1.9) : rng.uniform(1.2, 1.4),
  };
  const roll = (rng.uniform(-3, 3) * Math.PI) / 180;
  return { domain, cam, roll, palette: neutral ? neutralPalette(rng) : targetPalette(rng) };
}

/** Maximum roll (radians) of the target camera; sets the render margin. */
const MAX_ROLL = (3 * Math.PI) / 180;

/**
 * Renders SynthCity image `index` of `split` under `seed` (synchronously). Prefer {@link synthCityDataset}.
 * Throws on a bad split or size.
 */
export function renderSynthCity(split: SynthCitySplit, seed: number, index: number, width = 160, height = 80): Sample {
  if (!SPLITS.includes(split)) throw new Error(`synthcity: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 8) {
    throw new Error(`synthcity: width/height must be integers >= 16x8, got ${width}x${height}`);
  }
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`synthcity: bad index ${index}`);
  const domain: Domain = split === 'source' ? 'source' : split === 'neutral' ? 'neutral' : 'target';
  const rng = new Rng(deriveSeed(seed, 'synthcity', split, index));
  const look = makeLook(domain, rng, width, height);
  const margin =
    look.roll === 0 && domain === 'source' ? 0 : Math.ceil(0.5 * Math.max(width, height) * Math.sin(MAX_ROLL)) + 1;
  const CW = width + 2 * margin;
  const CH = height + 2 * margin;
  const cam = { ...look.cam, cx: look.cam.cx + margin, cy: look.cam.cy + margin };
  const cv = new Canvas(CW, CH);
  buildScene(rng, cv, { ...look, cam });

  let label: Uint8Array;
  let mat: Uint8Array;
  if (margin === 0) {
    label = cv.label;
    mat = cv.mat;
  } else {
    // Roll: sample the canvas along rotated axes (nearest), around the image centre.
    label = new Uint8Array(width * height);
    mat = new Uint8Array(width * height);
    const c = Math.cos(look.roll);
    const s = Math.sin(look.roll);
    const ox = width / 2;
    const oy = height / 2;
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const dx = j + 0.5 - ox;
        const dy = i + 0.5 - oy;
        const sx = Math.floor(ox + c * dx - s * dy + margin);
        const sy = Math.floor(oy + s * dx + c * dy + margin);
        const q = Math.min(CH - 1, Math.max(0, sy)) * CW + Math.min(CW - 1, Math.max(0, sx));
        label[i * width + j] = cv.label[q];
        mat[i * width + j] = cv.mat[q];
      }
    }
  }
  // The neutral look is rendered flat like the source (no target textures, lighting, camera response or noise).
  const image = colorize(
    label,
    mat,
    width,
    height,
    cv.pal,
    look.palette,
    look.cam.cy,
    domain === 'target' ? 'target' : 'source',
    rng,
  );
  return { image, label, width, height, name: `synthcity/${split}/${String(index).padStart(5, '0')}` };
}

/** Options of {@link synthCityDataset}. */
export interface SynthCityOptions {
  split: SynthCitySplit;
  seed?: number;
  width?: number;
  height?: number;
  /** Number of images (default {@link SYNTHCITY_DEFAULT_LENGTHS}[split]). */
  length?: number;
  /**
   * Keep the rendered labels of the unlabeled pools (`neutral`, `pretrain`): supervised pretraining of a teacher on
   * the neutral look, the stand-in for a labelled ImageNet-like corpus. Default false (labelled splits keep theirs).
   */
  labels?: boolean;
}

/**
 * The SynthCity benchmark as a {@link Dataset} (19-class Cityscapes train-id space, 8 classes present).
 * `source` is labelled and rendered-looking; `target-train` (adaptation images; its labels exist but only an oracle
 * may use them), `target-val` (evaluation) and `pretrain` (unlabeled pool: labels are omitted) share the target look.
 * Images are generated on `get` from `(seed, split, index)`; nothing is cached.
 */
export function synthCityDataset(opts: SynthCityOptions): Dataset {
  const { split, seed = 0, width = 160, height = 80 } = opts;
  if (!SPLITS.includes(split)) throw new Error(`synthcity: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  if (!Number.isSafeInteger(seed)) throw new Error(`synthcity: seed must be an integer, got ${seed}`);
  const length = opts.length ?? SYNTHCITY_DEFAULT_LENGTHS[split];
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`synthcity: length must be a positive integer, got ${length}`);
  renderSynthCity(split, seed, 0, width, height); // validates size early (cheap)
  return {
    name: `synthcity/${split}`,
    length,
    numClasses: 19,
    async get(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new Error(`synthcity/${split}: index ${index} out of range [0, ${length})`);
      }
      const s = renderSynthCity(split, seed, index, width, height);
      if (UNLABELED.includes(split) && !opts.labels) return { ...s, label: undefined };
      return s;
    },
  };
}
