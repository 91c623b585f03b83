import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { pretrainTeacher } from './pretrain.js';
import { writeMultiRunReport } from './report.js';
import { checkReportInChromium, type ReportCheck, TEST_OUTPUT } from './report-check.js';
import { readMetrics } from './run-dir.js';
import { readEvents } from './tfevents.js';
import { trainRun } from './trainer.js';

// Real (tiny, cpu) training runs, their report.html opened in headless Chromium (Debian's chromium through
// playwright-core): no console error, every chart drawn and interactive, screenshots under test-output/.
const TINY = [
  'backend=cpu',
  'net.width=0.25',
  'crop=[16,32]',
  'batch.source=1',
  'batch.target=1',
  'evalLimit=2',
  'evalEvery=4',
  'steps=12',
  'grid=2x2',
];
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-${p}-`));
const quiet = { log: () => {}, quiet: true, gridRows: 2 };
let teacher = '';
let out = '';

beforeAll(async () => {
  out = tmp('report-browser');
  const r = await pretrainTeacher({
    steps: 2,
    batch: 1,
    crop: 16,
    width: 0.25,
    backend: 'cpu',
    outDir: join(out, 'teacher'),
    log: () => {},
    quiet: true,
  });
  teacher = r.checkpoint;
});

function expectInteractive(c: ReportCheck, ids: string[]): void {
  expect(c.errors).toEqual([]);
  expect(c.chartIds).toEqual(ids);
  for (const id of ids) {
    // hovering the middle of the plot puts the step and the value under the cursor into the legend
    expect(c.hovered[id].x, id).toMatch(/^\d+$/);
    expect(c.hovered[id].value, id).toMatch(/^-?\d/);
    // keyboard alone: End, ArrowLeft, Home read out the last, the one before and the first step; the cursor follows
    const k = c.keyboard[id];
    const steps = [k.end, k.left, k.home].map((t) => Number(/^\w+ (\d+): /.exec(t)?.[1]));
    expect(steps.every(Number.isInteger), `${id}: ${JSON.stringify(k)}`).toBe(true);
    expect(steps[1], id).toBeLessThanOrEqual(steps[0]);
    expect(steps[2], id).toBeLessThanOrEqual(steps[1]);
    expect(k.legendX, id).toBe(String(steps[0]));
    // a drag across the middle half zooms the x axis in
    const { before, after, reset } = c.zoom[id];
    if (before[1] > before[0]) {
      expect(after[0], id).toBeGreaterThan(before[0]);
      expect(after[1], id).toBeLessThan(before[1]);
    }
    // a double-click zooms back out
    expect(reset, id).toEqual(before);
  }
  expect(c.brokenImages).toEqual([]);
  expect(c.imagesWithoutAlt).toBe(0);
  expect(c.tablesWithoutHeaders).toBe(0);
  expect(c.chartsWithoutLabel).toBe(0);
}

describe('report.html in headless Chromium', () => {
  it('a run report: charts with hover values, zoom and a log switch; IoU table; predictions; TensorBoard events', async () => {
    const dir = join(out, 'road');
    await trainRun(loadConfig('road', TINY), { outDir: dir, teacherCheckpoint: teacher, ...quiet });
    const shot = join(TEST_OUTPUT, 'report-browser', 'run-report.png');
    const c = await checkReportInChromium(join(dir, 'report.html'), shot);
    expectInteractive(c, ['chart-losses', 'chart-domain-accuracy', 'chart-schedule', 'chart-miou']);
    expect(c.title).toBe('road run: road');
    const rows = readMetrics(join(dir, 'metrics.jsonl'));
    // smoothing: 0 draws the raw loss_total; 0.9 the bias-corrected EMA, by hand: e1 = y1, e2 = (0.09 y1 + 0.1 y2) / 0.19
    const total = rows.map((r) => r.loss_total as number);
    const sm = c.smoothing['chart-losses'];
    expect(sm.raw.slice(0, 2)).toEqual(total.slice(0, 2));
    expect(sm.smoothed[0]).toBeCloseTo(total[0], 12);
    expect(sm.smoothed[1]).toBeCloseTo((0.09 * total[0] + 0.1 * total[1]) / 0.19, 12);
    // the hovered value is the run's loss_total at the hovered step (4 significant digits)
    const at = rows.find((r) => r.step === Number(c.hovered['chart-losses'].x));
    expect(typeof at?.loss_total).toBe('number');
    const hoveredLoss = Number(Number(at?.loss_total).toPrecision(4));
    expect(Number(c.hovered['chart-losses'].value)).toBeCloseTo(hoveredLoss, 10);
    // keyboard readout of the loss chart: End is the last step with loss_total's value, ArrowLeft the step before
    const kb = c.keyboard['chart-losses'];
    const value = (t: string) => Number(/: total ([-\d.e+]+)/.exec(t)?.[1]);
    const last = rows.filter((r) => typeof r.loss_total === 'number').at(-1);
    expect(kb.end.startsWith(`step ${last?.step}: `)).toBe(true);
    expect(value(kb.end)).toBeCloseTo(Number(Number(last?.loss_total).toPrecision(4)), 10);
    expect(kb.left.startsWith(`step ${(last?.step ?? 0) - 1}: `)).toBe(true);
    expect(kb.home.startsWith('step 1: ')).toBe(true);
    // log switch: on at first (losses), off after one click, on after another
    expect(c.logToggle['chart-losses']).toEqual([1, 3]);
    expect(c.headings).toEqual([
      'road run: road',
      'Target validation IoU',
      'Training curves',
      'Predictions on target validation images',
      'Config',
      'Environment',
    ]);
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // the run folder's TensorBoard file holds what metrics.jsonl holds (as float32), on this (cpu) backend
    const files = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files.length).toBe(1);
    const events = readEvents(join(dir, files[0]));
    expect(events[0].fileVersion).toBe('brain.Event:2');
    const scalar = (tag: string) =>
      events.flatMap((e) => (e.scalars ?? []).filter((s) => s.tag === tag).map((s) => [e.step, s.value]));
    const column = (k: string) =>
      rows.filter((r) => typeof r[k] === 'number').map((r) => [r.step, Math.fround(r[k] as number)]);
    expect(scalar('loss_total')).toEqual(column('loss_total'));
    expect(scalar('loss_total').length).toBe(12);
    expect(scalar('domain_accuracy')).toEqual(column('domain_accuracy'));
    expect(scalar('val/miou')).toEqual(column('val_miou'));
    expect(scalar('val/miou').map((p) => p[0])).toEqual([4, 8, 12]);
  });

  it('a multi-run report (as `road bench synthcity` writes it): presets overlaid on one chart, runs linked', async () => {
    const runs = [];
    for (const preset of ['source-only', 'dst']) {
      const dir = join(out, 'bench', 'seed-1', preset);
      await trainRun(loadConfig(preset, TINY), { outDir: dir, teacherCheckpoint: teacher, ...quiet, gridRows: 0 });
      runs.push({ name: `${preset} seed 1`, group: preset, dir });
    }
    runs.push({ name: 'road seed 1', group: 'road', dir: join(out, 'road') });
    const path = writeMultiRunReport(join(out, 'bench'), {
      title: 'road bench synthcity',
      markdown: '# road bench synthcity\n\n| preset | mean |\n|:---|---:|\n| source-only | 1.0 |\n',
      runs,
    });
    const c = await checkReportInChromium(path, join(TEST_OUTPUT, 'report-browser', 'multi-run-report.png'));
    expectInteractive(c, [
      'chart-loss-total',
      'chart-loss-seg',
      'chart-loss-dst',
      'chart-loss-spt',
      'chart-domain-accuracy',
    ]);
    expect(c.headings).toEqual([
      'road bench synthcity',
      'Final mIoU and training curves, all runs overlaid',
      'Run reports',
      'Environment',
    ]);
    expect(existsSync(join(TEST_OUTPUT, 'report-browser', 'multi-run-report.png'))).toBe(true);
  });
});
