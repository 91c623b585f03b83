import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { benchSynthCity, type SynthCityBench } from './bench.js';
import { checkReportInChromium, TEST_OUTPUT } from './report-check.js';
import { readEvents } from './tfevents.js';

// `road bench synthcity --quick` (1 seed, 3 presets, wasm): its report.html overlays the presets on one chart per loss
// term and links each run's report; opened in headless Chromium.
describe('road bench synthcity --quick: report.html', () => {
  it('overlays the presets, links the runs, renders without console errors', async () => {
    tf.env().set('IS_TEST', false); // see resume-wasm.test.ts: the kernel leak check trips inside tfjs-backend-wasm
    const dir = mkdtempSync(join(tmpdir(), 'road-bench-report-'));
    const saved = process.env.ROAD_CACHE;
    process.env.ROAD_CACHE = join(dir, 'cache');
    let bench: SynthCityBench;
    try {
      bench = await benchSynthCity({
        seeds: 1,
        presets: ['source-only', 'spt', 'road'],
        quick: true,
        backend: 'wasm',
        outDir: join(dir, 'bench'),
        log: () => {},
        quiet: true,
      });
    } finally {
      if (saved === undefined) delete process.env.ROAD_CACHE;
      else process.env.ROAD_CACHE = saved;
    }
    const path = join(dir, 'bench', 'report.html');
    const html = readFileSync(path, 'utf8');
    for (const p of ['source-only', 'spt', 'road'])
      expect(html).toContain(`<li><a href="seed-1/${p}/report.html">${p} seed 1</a></li>`);
    expect(html).toMatch(/<th scope="col"[^>]*>preset<\/th>/);
    // and each run's report links back
    expect(readFileSync(join(dir, 'bench', 'seed-1', 'spt', 'report.html'), 'utf8')).toContain(
      '<a href="../../report.html">← bench report (all presets overlaid)</a>',
    );
    const charts = JSON.parse(
      /<script type="application\/json" id="road-charts">(.*?)<\/script>/s.exec(html)?.[1] ?? '[]',
    ) as {
      id: string;
      series: { name: string; points: [number, number][] }[];
    }[];
    const seg = charts.find((c) => c.id === 'chart-loss-seg');
    expect(seg?.series.map((s) => s.name)).toEqual(['source-only seed 1', 'spt seed 1', 'road seed 1']);
    expect(seg?.series.every((s) => s.points.length === 20)).toBe(true);
    // the ablation on one chart: each preset's final mIoU at its seed, as the bench's table has it
    expect(charts[0].id).toBe('chart-final-miou');
    expect(charts[0].series.map((x) => [x.name, x.points])).toEqual(
      ['source-only', 'spt', 'road'].map((p) => [p, [[1, 100 * bench.perPreset[p].miou[0]]]]),
    );
    // spatial-aware adaptation: spt and road only
    expect(charts.find((c) => c.id === 'chart-loss-spt')?.series.map((s) => s.name)).toEqual([
      'spt seed 1',
      'road seed 1',
    ]);

    // TensorBoard event files on wasm too: each run folder has one, with every step's loss_total
    for (const p of ['source-only', 'spt', 'road']) {
      const run = join(dir, 'bench', 'seed-1', p);
      const files = readdirSync(run).filter((f) => f.startsWith('events.out.tfevents.'));
      expect(files.length, p).toBe(1);
      const steps = readEvents(join(run, files[0])).flatMap((e) =>
        (e.scalars ?? []).filter((v) => v.tag === 'loss_total').map(() => e.step),
      );
      expect(steps, p).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }

    const c = await checkReportInChromium(path, join(TEST_OUTPUT, 'bench', 'bench-synthcity-report.png'));
    expect(c.errors).toEqual([]);
    expect(c.chartIds).toContain('chart-loss-seg');
    for (const id of c.chartIds) expect(c.hovered[id].value, id).toMatch(/^-?\d/);
    expect(c.headings[0]).toBe('road bench synthcity (quick)');
  });
});
