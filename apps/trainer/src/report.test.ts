import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { EvalResult } from './evaluate.js';
import { colorize, imageGridPng, overlay, overlayCharts, writeMultiRunReport, writeRunReport } from './report.js';
import { type ChartSpec, flattenConfig, SERIES_COLORS } from './report-page.js';

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

  it('writes report.html: one self-contained page with the chart data, IoU table, legend, config, environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-report-'));
    const metrics = [
      { step: 1, loss_total: 2, loss_seg: 1.5, loss_dst: 5, lambda_grl: 0, lr: 0.01, domain_accuracy: 0.5 },
      { step: 2, loss_total: 1, loss_seg: 0.8, loss_dst: 3, lambda_grl: 0.4, lr: 0.01, domain_accuracy: 0.6 },
    ];
    const written = await writeRunReport(dir, {
      title: 'run </script><b>',
      metrics,
      evals: [{ step: 2, miou: 0.3 }],
      final: RESULT,
      palette,
      grid: {
        rows: [{ image: new Uint8Array(4 * 2 * 3), width: 4, height: 2, predictions: [new Uint8Array(8)] }],
        titles: ['image', 'pred'],
      },
      config: { name: 'x', lambda: { dst: 1, spt: 0.5 } },
      links: [{ href: '../report.html', label: 'demo report' }],
    });
    expect(written).toEqual(['predictions.png', 'report.html']);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    // self-contained: no external script, stylesheet or image; the grid is a data URL equal to predictions.png
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|src="(?!data:)/);
    expect(html).toContain(
      `src="data:image/png;base64,${readFileSync(join(dir, 'predictions.png')).toString('base64')}"`,
    );
    expect(html).toContain('uPlot 1.6.');
    // the title is escaped everywhere; the chart data block cannot be closed early
    expect(html).toContain('<h1>run &lt;/script&gt;&lt;b&gt;</h1>');
    const charts = chartData(html);
    expect(charts.map((c) => c.id)).toEqual(['chart-losses', 'chart-domain-accuracy', 'chart-schedule', 'chart-miou']);
    expect(charts[0].series.map((s) => [s.name, s.points])).toEqual([
      [
        'total',
        [
          [1, 2],
          [2, 1],
        ],
      ],
      [
        'seg',
        [
          [1, 1.5],
          [2, 0.8],
        ],
      ],
      [
        'dst',
        [
          [1, 5],
          [2, 3],
        ],
      ],
    ]);
    expect(charts[0].log).toBe('on');
    expect(charts[2].series.find((s) => s.name === 'learning rate')?.right).toBe(true);
    expect(charts[3].series[0].points).toEqual([[2, 30]]);
    // the chart's text alternative names the series, the range and the last values
    expect(html).toContain(
      'data-alt="Training losses: line chart of total, seg, dst over step 1 to 2; last values: total 1 at 2, seg 0.8 at 2, dst 3 at 2"',
    );
    // IoU table: a row per class with its swatch colour and the value in %, headers with scope
    expect(html).toContain(
      '<tr><th scope="row"><span class="swatch" style="background:rgb(244,35,232)" aria-hidden="true"></span>b</th><td class="num">25.0</td><td class="num">50.0</td></tr>',
    );
    expect(html).toMatch(/<th scope="row">mIoU<\/th><td class="num">37\.5<\/td>/);
    expect(html).toContain('<ul class="legend" aria-label="class colours">');
    expect(html).toContain('<th scope="row">lambda.spt</th><td><code>0.5</code></td>');
    expect(html).toMatch(/<th scope="row">tfjs-core<\/th><td><code>4\.\d+\.\d+<\/code>/);
    expect(html).toContain('<a href="../report.html">demo report</a>');
  });

  it('overlays runs: one series per run per chart, one colour per group, later seeds dashed', () => {
    const m = (k: number) => [
      { step: 1, loss_total: k, loss_seg: k },
      { step: 2, loss_total: k / 2, loss_seg: k / 2, domain_accuracy: 0.5 },
    ];
    const charts = overlayCharts([
      { name: 'a s1', group: 'a', metrics: m(1) },
      { name: 'a s2', group: 'a', metrics: m(2) },
      { name: 'b s1', group: 'b', metrics: [{ step: 1, loss_total: 3 }] },
    ]);
    expect(charts.map((c) => c.id)).toEqual(['chart-loss-total', 'chart-loss-seg', 'chart-domain-accuracy']);
    const total = charts[0].series;
    expect(total.map((s) => s.name)).toEqual(['a s1', 'a s2', 'b s1']);
    expect(total.map((s) => s.color)).toEqual([SERIES_COLORS[0], SERIES_COLORS[0], SERIES_COLORS[1]]);
    expect(total.map((s) => s.dash)).toEqual([false, true, false]);
    expect(total[1].points).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect(charts[1].series.length).toBe(2);
    expect(charts[2].yRange).toEqual([0, 1]);
  });

  it('writes the multi-run report: the Markdown summary as HTML tables, runs linked, curves overlaid', () => {
    const out = mkdtempSync(join(tmpdir(), 'road-report-'));
    for (const [name, k] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      mkdirSync(join(out, name));
      writeFileSync(
        join(out, name, 'metrics.jsonl'),
        `{"step":1,"loss_total":${k}}\n{"step":2,"loss_total":${k / 4}}\n`,
      );
    }
    writeFileSync(join(out, 'a', 'report.html'), '');
    const path = writeMultiRunReport(out, {
      title: 't',
      markdown: '# bench\n\n| preset | mIoU |\n|:---|---:|\n| a | 1.0 |\n',
      runs: [
        { name: 'a', dir: join(out, 'a') },
        { name: 'b', dir: join(out, 'b') },
      ],
    });
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('<h1>bench</h1>');
    expect(html).toMatch(/<th scope="col" align="left">preset<\/th>/);
    expect(html).toContain('<li><a href="a/report.html">a</a></li>');
    expect(html).toContain('<li>b <span class="muted">(no report: the run did not finish)</span></li>');
    expect(chartData(html)[0].series.map((s) => s.points)).toEqual([
      [
        [1, 1],
        [2, 0.25],
      ],
      [
        [1, 2],
        [2, 0.5],
      ],
    ]);
  });

  it('flattens a config to dotted keys', () => {
    expect(flattenConfig({ a: 1, b: { c: 'x', d: [1, 2], e: {} }, f: null })).toEqual([
      ['a', '1'],
      ['b.c', 'x'],
      ['b.d', '[1,2]'],
      ['b.e', '{}'],
      ['f', 'null'],
    ]);
  });
});

const RESULT: EvalResult = {
  dataset: 'toy',
  images: 2,
  numClasses: 2,
  classNames: ['a', 'b'],
  iou: [0.5, 0.25],
  miou: 0.375,
  pixelAccuracy: 0.75,
  accuracy: [1, 0.5],
  meanAccuracy: 0.75,
  confusion: [
    [2, 0],
    [1, 1],
  ],
  total: 4,
};

function chartData(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="road-charts">(.*?)<\/script>/s.exec(html);
  if (!m) throw new Error('no chart data');
  return JSON.parse(m[1]) as ChartSpec[];
}
