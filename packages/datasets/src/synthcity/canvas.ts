import { type RGB, SKY } from './constants.js';

// ---------------------------------------------------------------------------------------------------------------
// Raster canvas: a label plane and a material plane (index into a per-image palette). Colour comes later.

export class Canvas {
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
