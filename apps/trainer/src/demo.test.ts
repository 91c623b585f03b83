import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';
import { checkReportInChromium, TEST_OUTPUT } from './report-check.js';

// CI smoke test of `road demo --quick` on the default engine here (wasm), teacher pretraining included.
describe('road demo --quick', () => {
  it('pretrains a teacher, trains source-only and road, prints the side-by-side table, writes the report', async () => {
    tf.env().set('IS_TEST', false); // see resume-wasm.test.ts: the kernel leak check trips inside tfjs-backend-wasm
    const outDir = mkdtempSync(join(tmpdir(), 'road-demo-'));
    const lines: string[] = [];
    const r = await runDemo({
      quick: true,
      outDir,
      backend: 'wasm',
      log: (l) => lines.push(l),
      quiet: true,
      noCache: true,
    });
    expect(r.backend).toBe('wasm');
    expect(r.teacher.cached).toBe(false);
    expect(Number.isFinite(r.sourceOnly.miou)).toBe(true);
    expect(Number.isFinite(r.road.miou)).toBe(true);
    expect(r.gainPoints).toBeCloseTo(100 * ((r.road.miouPresent as number) - (r.sourceOnly.miouPresent as number)), 10);
    // --quick is a smoke test, and the table itself says so (header and last row).
    expect(r.smokeTest).toBe(true);
    expect(r.table).toMatch(/^\| class — SMOKE TEST \(--quick, 20 steps\) \| source-only \| road \|/);
    expect(r.table.trimEnd().split('\n').pop()).toMatch(
      /^\| \*smoke test: 20 training steps .*these numbers mean nothing\* \| \| \|$/,
    );
    expect(r.table).toMatch(/\| \*\*mIoU \(8 classes\)\*\* \|/);
    for (const c of ['road', 'sidewalk', 'building', 'pole', 'vegetation', 'sky', 'person', 'car'])
      expect(r.table).toContain(`| ${c} |`);
    for (const f of [
      'demo.md',
      'demo.json',
      'report.html',
      'predictions.png',
      'source-only/report.html',
      'road/report.html',
      'road/eval/final.json',
    ]) {
      expect(existsSync(join(outDir, f)), f).toBe(true);
    }
    expect(readFileSync(join(outDir, 'demo.md'), 'utf8')).toMatch(
      /ROAD − source-only.*\(smoke test: 20 steps, not a result/,
    );
    expect(lines.some((l) => /pretrained in/.test(l))).toBe(true);

    // the demo's report.html in headless Chromium: the side-by-side table, the runs' curves overlaid, links both ways
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html).toContain('<a href="source-only/report.html">source-only: run report</a>');
    expect(readFileSync(join(outDir, 'road', 'report.html'), 'utf8')).toContain('<a href="../report.html">');
    expect(html).toContain('SMOKE TEST (--quick, 20 training steps)');
    const c = await checkReportInChromium(join(outDir, 'report.html'), join(TEST_OUTPUT, 'demo', 'demo-report.png'));
    expect(c.errors).toEqual([]);
    expect(c.chartIds).toEqual([
      'chart-loss-total',
      'chart-loss-seg',
      'chart-loss-dst',
      'chart-loss-spt',
      'chart-domain-accuracy',
    ]);
    for (const id of c.chartIds) expect(c.hovered[id].value, id).toMatch(/^-?\d/);
    expect(c.brokenImages).toEqual([]);
    expect(c.headings).toEqual([
      'road demo (quick)',
      'Target validation IoU',
      'Predictions on target validation images',
      'Training curves, runs overlaid',
      'Environment',
    ]);
  });
});
