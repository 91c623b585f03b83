import type { Rng } from '../rng.js';
import { type Camera, px, py } from './camera.js';
import type { Canvas } from './canvas.js';
import { BUILDING, CAR, type Domain, PERSON, POLE, ROAD, SIDEWALK, VEG } from './constants.js';
import { type Palette, shade } from './palettes.js';

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

/**
 * Walks the image columns the vertical plane X = xb covers between depths z0..z1 (from the ground up to height h):
 * for each column j, the plane's depth Z there and the rows i0..i1 (exclusive) it spans.
 */
function planeColumns(
  cv: Canvas,
  cam: Camera,
  xb: number,
  z0: number,
  z1: number,
  h: number,
  visit: (j: number, Z: number, i0: number, i1: number) => void,
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
    visit(j, Z, i0, i1);
  }
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
  planeColumns(cv, cam, xb, z0, z1, hb, (j, Z, i0, i1) => {
    const along = Z - z0;
    const k = Z / cam.f;
    for (let i = i0; i < i1; i++) {
      const Y = cam.hc - (i + 0.5 - cam.cy) * k;
      const o = i * cv.W + j;
      cv.label[o] = BUILDING;
      cv.mat[o] = mats[windowAt(grid, along, Y)];
    }
  });
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

export interface Look {
  domain: Domain;
  cam: Camera;
  roll: number;
  palette: Palette;
}

/** Lays out and rasterises one scene into label/material planes (canvas may be larger than the image: roll margin). */
export function buildScene(rng: Rng, cv: Canvas, look: Look): void {
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
  planeColumns(cv, cam, xb, z0, z1, h, (j, _Z, i0, i1) => {
    for (let i = i0; i < i1; i++) {
      cv.label[i * cv.W + j] = cls;
      cv.mat[i * cv.W + j] = m;
    }
  });
}
