import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { colorize, imageGridPng, lineChartSvg, overlay, svgToPng, writeRunReport } from './report.js';

const palette = [
  [128, 64, 128],
  [244, 35, 232],
];

describe('report', () => {
  it('colourises train ids with the palette; ignore (255) is black', () => {
    expect(Array.from(colorize(new Uint8Array([1, 0, 255]), palette))).toEqual([244, 35, 232, 128, 64, 128, 0, 0, 0]);
  });

  it('blends an overlay: round((1−α)·image + α·colour)', () => {
    expect(Array.from(overlay(new Uint8Array([100, 0, 255]), new Uint8Array([200, 100, 0]), 0.25))).toEqual([
      125, 25, 191,
    ]);
  });

  it('draws a line chart as SVG with one polyline per series and a legend; non-finite points skipped', async () => {
    const svg = lineChartSvg({
      title: 'Training <losses>',
      series: [
        {
          name: 'seg',
          points: [
            [1, 2],
            [2, 1],
            [3, Number.NaN],
            [4, 0.5],
          ],
        },
        { name: 'dst', points: [[1, 1]] },
      ],
    });
    expect(svg).toContain('Training &lt;losses&gt;');
    expect(svg.match(/<polyline/g)?.length).toBe(1);
    expect(svg).toContain('<circle');
    expect(svg).toContain('>seg<');
    expect(svg).toContain('>dst<');
    const poly = /points="([^"]+)"/.exec(svg)?.[1].split(' ') ?? [];
    expect(poly.length).toBe(3);
    const file = join(mkdtempSync(join(tmpdir(), 'road-report-')), 'c.png');
    await svgToPng(svg, file);
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([640, 360, 'png']);
  });

  it('writes the qualitative grid: image | predictions | ground truth', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'road-report-')), 'g.png');
    const rows = [0, 1].map(() => ({
      image: new Uint8Array(4 * 2 * 3).fill(90),
      width: 4,
      height: 2,
      predictions: [new Uint8Array([0, 0, 1, 1, 0, 0, 1, 1])],
      label: new Uint8Array([0, 1, 1, 1, 0, 0, 255, 1]),
    }));
    await imageGridPng(rows, ['image', 'pred', 'gt'], palette, file, 2);
    const meta = await sharp(file).metadata();
    // 3 tiles of 8 px + 4 gaps of 4 px; header 22 + 2 rows of (4 + 4) + 4
    expect([meta.width, meta.height]).toEqual([3 * 8 + 4 * 4, 22 + 2 * 8 + 4]);
    // top-left pixel of the prediction tile (row 0) is class 0's colour
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) =>
      Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(px(4 + 8 + 4, 22 + 4)).toEqual(palette[0]);
    expect(px(4 + 8 + 4 + 7, 22 + 4)).toEqual(palette[1]);
  });

  it('writes report.html with the charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-report-'));
    const written = await writeRunReport(dir, {
      title: 'run',
      metrics: [
        { step: 1, loss_total: 2, loss_seg: 1.5, loss_dst: 5, lambda_grl: 0, lr: 0.01, domain_accuracy: 0.5 },
        { step: 2, loss_total: 1, loss_seg: 0.8, loss_dst: 3, lambda_grl: 0.4, lr: 0.01, domain_accuracy: 0.6 },
      ],
      evals: [{ step: 2, miou: 0.3 }],
      iouTableMarkdown: '| a | b |',
    });
    expect(written).toEqual(['loss-curves.png', 'domain-accuracy.png', 'schedule.png', 'miou.png', 'report.html']);
  });
});
