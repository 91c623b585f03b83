import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { marked } from 'marked';
import sharp from 'sharp';
import type { EngineInfo } from './engine.js';
import type { EvalResult } from './evaluate.js';
import {
  type ChartSeries,
  type ChartSpec,
  chartFigure,
  classLegend,
  environmentRows,
  esc,
  flattenConfig,
  htmlPage,
  iouTable,
  keyValueTable,
  linksNav,
  pngDataUrl,
  type ReportLink,
  SERIES_COLORS,
  tableClassIds,
} from './report-page.js';
import { readMetrics } from './run-dir.js';

/** Colours a train-id map with a palette ([r, g, b] per id); ignore (255) and unknown ids are black. */
export function colorize(ids: Uint8Array, palette: readonly (readonly number[])[]): Uint8Array {
  const out = new Uint8Array(ids.length * 3);
  for (let i = 0; i < ids.length; i++) {
    const c = palette[ids[i]];
    if (c) {
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    }
  }
  return out;
}

/** Blends a colourised label map over the image (alpha = weight of the colours). */
export function overlay(image: Uint8Array, colors: Uint8Array, alpha = 0.5): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = Math.round((1 - alpha) * image[i] + alpha * colors[i]);
  return out;
}

/** Writes an RGB HWC buffer as a PNG. */
export async function writeRgbPng(rgb: Uint8Array, width: number, height: number, path: string): Promise<void> {
  await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

/** One row of the qualitative grid: image | prediction(s) | ground truth. */
export interface GridRow {
  image: Uint8Array;
  width: number;
  height: number;
  /** Train-id maps, one per column after the image (e.g. source-only, road). */
  predictions: Uint8Array[];
  label?: Uint8Array;
}

/**
 * A grid PNG: each row is the target image, each prediction and the ground truth, colourised with `palette`,
 * with column titles on top.
 */
export async function imageGridPng(
  rows: GridRow[],
  columnTitles: string[],
  palette: readonly (readonly number[])[],
  path: string,
  scale = 2,
): Promise<Uint8Array | null> {
  if (!rows.length) return null;
  const png = await imageGrid(rows, columnTitles, palette, scale);
  writeFileSync(path, png);
  return png;
}

/** The grid of {@link imageGridPng} as PNG bytes. */
export async function imageGrid(
  rows: GridRow[],
  columnTitles: string[],
  palette: readonly (readonly number[])[],
  scale = 2,
): Promise<Uint8Array> {
  const w = rows[0].width * scale;
  const h = rows[0].height * scale;
  const gap = 4;
  const header = 22;
  const cols = 1 + rows[0].predictions.length + (rows[0].label ? 1 : 0);
  const W = cols * w + (cols + 1) * gap;
  const H = header + rows.length * (h + gap) + gap;
  const composites: sharp.OverlayOptions[] = [];
  const tile = async (rgb: Uint8Array, r: GridRow) =>
    sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
      raw: { width: r.width, height: r.height, channels: 3 },
    })
      .resize(w, h, { kernel: 'nearest' })
      .png()
      .toBuffer();
  for (let ri = 0; ri < rows.length; ri++) {
    const r = rows[ri];
    const tiles = [r.image, ...r.predictions.map((p) => colorize(p, palette))];
    if (r.label) tiles.push(colorize(r.label, palette));
    for (let ci = 0; ci < tiles.length; ci++) {
      composites.push({
        input: await tile(tiles[ci], r),
        left: gap + ci * (w + gap),
        top: header + gap + ri * (h + gap),
      });
    }
  }
  const titles = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${header}" font-family="DejaVu Sans, sans-serif">${columnTitles
    .slice(0, cols)
    .map(
      (t, i) => `<text x="${gap + i * (w + gap) + w / 2}" y="16" font-size="13" text-anchor="middle">${esc(t)}</text>`,
    )
    .join('')}</svg>`;
  composites.push({ input: Buffer.from(titles), left: 0, top: 0 });
  const png = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** A metrics.jsonl row as the trainer writes it. */
export interface MetricsRow {
  step: number;
  [key: string]: number | string | null | undefined;
}

type Palette = readonly (readonly number[])[];

const LOSS_KEYS = ['loss_total', 'loss_seg', 'loss_dst', 'loss_spt'];

/** (step, value) points of one metrics.jsonl column (rows where it is a number). */
export function metricPoints(metrics: MetricsRow[], key: string): [number, number][] {
  return metrics.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
}

/** The charts of one run: losses (log scale, smoothing), domain accuracy, schedules, validation mIoU. */
export function runCharts(metrics: MetricsRow[], evals: { step: number; miou: number }[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const lossKeys = LOSS_KEYS.filter((k) => metricPoints(metrics, k).length > 0);
  const steps = metrics.length;
  const smoothing = steps >= 50 ? 0.6 : 0;
  if (lossKeys.length)
    charts.push({
      id: 'chart-losses',
      title: 'Training losses',
      yLabel: 'loss',
      log: 'on',
      smoothing,
      series: lossKeys.map((k, i) => ({
        name: k.replace('loss_', ''),
        points: metricPoints(metrics, k),
        color: SERIES_COLORS[i],
      })),
    });
  if (metricPoints(metrics, 'domain_accuracy').length)
    charts.push({
      id: 'chart-domain-accuracy',
      title: 'Region domain-classifier accuracy',
      yLabel: 'accuracy',
      yRange: [0, 1],
      smoothing,
      series: [{ name: 'accuracy', points: metricPoints(metrics, 'domain_accuracy'), color: SERIES_COLORS[2] }],
    });
  const schedule: ChartSeries[] = [];
  if (metricPoints(metrics, 'lambda_grl').length)
    schedule.push({ name: 'GRL λ', points: metricPoints(metrics, 'lambda_grl'), color: SERIES_COLORS[4] });
  if (metricPoints(metrics, 'lr').length)
    schedule.push({ name: 'learning rate', points: metricPoints(metrics, 'lr'), color: SERIES_COLORS[3], right: true });
  if (schedule.length)
    charts.push({ id: 'chart-schedule', title: 'Schedules', yLabel: 'λ', rightLabel: 'lr', series: schedule });
  if (evals.length)
    charts.push({
      id: 'chart-miou',
      title: 'Target validation mIoU',
      yLabel: 'mIoU (%)',
      series: [
        {
          name: 'mIoU %',
          points: evals.map((e) => [e.step, 100 * e.miou] as [number, number]),
          color: SERIES_COLORS[0],
        },
      ],
    });
  return charts;
}

/** A run to overlay on the charts of a multi-run report. */
export interface OverlayRun {
  name: string;
  metrics: MetricsRow[];
  /** Runs of one group (e.g. one preset over seeds) share a colour; the later ones are dashed. */
  group?: string;
}

/** One colour per group (in order of appearance); runs after the first of their group are dashed. */
function groupStyles(runs: { name: string; group?: string }[]): { color: string; dash: boolean }[] {
  const groups = [...new Set(runs.map((r) => r.group ?? r.name))];
  const seen = new Map<string, number>();
  return runs.map((r) => {
    const g = r.group ?? r.name;
    const n = seen.get(g) ?? 0;
    seen.set(g, n + 1);
    return { color: SERIES_COLORS[groups.indexOf(g) % SERIES_COLORS.length], dash: n > 0 };
  });
}

/**
 * The final target mIoU (%) of each run against its seed, one series of markers per group (the ablation's presets
 * side by side), read from each run's eval/final.json; null when no run has a seed and a final evaluation.
 */
export function finalMiouChart(runs: { name: string; dir: string; group?: string; seed?: number }[]): ChartSpec | null {
  const styles = groupStyles(runs);
  const bySeries = new Map<string, ChartSeries>();
  runs.forEach((r, i) => {
    const file = join(r.dir, 'eval', 'final.json');
    if (r.seed === undefined || !existsSync(file)) return;
    const e = JSON.parse(readFileSync(file, 'utf8')) as { miou: number | null; miouPresent?: number | null };
    const v = e.miouPresent ?? e.miou;
    if (typeof v !== 'number') return;
    const name = r.group ?? r.name;
    if (!bySeries.has(name)) bySeries.set(name, { name, points: [], color: styles[i].color, markers: true });
    bySeries.get(name)?.points.push([r.seed, 100 * v]);
  });
  if (!bySeries.size) return null;
  return {
    id: 'chart-final-miou',
    title: 'Final target mIoU per seed',
    xLabel: 'seed',
    yLabel: 'mIoU (%)',
    series: [...bySeries.values()],
  };
}

/** Charts with one series per run: each loss term, the domain accuracy, validation mIoU where logged. */
export function overlayCharts(runs: OverlayRun[]): ChartSpec[] {
  const styles = groupStyles(runs);
  const steps = Math.max(0, ...runs.map((r) => r.metrics.length));
  const smoothing = steps >= 50 ? 0.6 : 0;
  const charts: ChartSpec[] = [];
  const titles: Record<string, string> = {
    loss_total: 'Total loss',
    loss_seg: 'Segmentation loss (source)',
    loss_dst: 'Distillation loss',
    loss_spt: 'Spatial-aware adaptation loss',
    domain_accuracy: 'Region domain-classifier accuracy',
    val_miou: 'Validation mIoU',
  };
  for (const key of [...LOSS_KEYS, 'domain_accuracy', 'val_miou']) {
    const series = runs
      .map((r, i) => ({ name: r.name, points: metricPoints(r.metrics, key), ...styles[i] }))
      .filter((s) => s.points.length > 0);
    if (!series.length) continue;
    charts.push({
      id: `chart-${key.replace(/_/g, '-')}`,
      title: `${titles[key]}: ${series.length} run${series.length > 1 ? 's' : ''}`,
      yLabel: key.startsWith('loss') ? 'loss' : key === 'val_miou' ? 'mIoU' : 'accuracy',
      ...(key.startsWith('loss') ? { log: 'on' as const } : {}),
      ...(key === 'domain_accuracy' ? { yRange: [0, 1] as [number, number] } : {}),
      ...(key === 'val_miou' ? {} : { smoothing }),
      series,
    });
  }
  return charts;
}

/** The table's class ids plus any other id the grid shows (a class predicted outside the dataset's set). */
export function legendIds(tableIds: number[], rows: GridRow[]): number[] {
  const ids = new Set(tableIds);
  for (const r of rows)
    for (const m of [...r.predictions, ...(r.label ? [r.label] : [])]) for (const v of m) if (v !== 255) ids.add(v);
  return [...ids].sort((a, b) => a - b);
}

function chartsSection(charts: ChartSpec[], heading = 'Training curves'): string {
  if (!charts.length) return '';
  return `<section aria-labelledby="sec-charts"><h2 id="sec-charts">${esc(heading)}</h2><div class="charts">${charts.map(chartFigure).join('\n')}</div></section>`;
}

function gridSection(png: Uint8Array | null, alt: string, legend: string): string {
  if (!png) return '';
  return `<section aria-labelledby="sec-pred"><h2 id="sec-pred">Predictions on target validation images</h2>${legend}<div class="grid"><img src="${pngDataUrl(png)}" alt="${esc(alt)}"></div></section>`;
}

function environmentSection(engine: EngineInfo | undefined): string {
  return `<section aria-labelledby="sec-env"><h2 id="sec-env">Environment</h2>${keyValueTable(environmentRows(engine), 'where this report was made')}</section>`;
}

/** What {@link writeRunReport} needs. */
export interface RunReportOptions {
  title: string;
  metrics: MetricsRow[];
  evals: { step: number; miou: number }[];
  /** The final evaluation: per-class IoU table with the class colours. */
  final?: EvalResult;
  /** Class colours ([r, g, b] per train id) of the table, legend and grid. */
  palette?: Palette;
  grid?: { rows: GridRow[]; titles: string[] };
  notes?: string[];
  /** A warning shown at the top (e.g. an upper-bound run trained on target labels). */
  banner?: string;
  /** The run's resolved config (shown as a table). */
  config?: unknown;
  engine?: EngineInfo;
  /** Links to related reports (e.g. the demo's report). */
  links?: ReportLink[];
}

/**
 * Writes the run report: `report.html`, one self-contained page (opens offline) with interactive charts (losses on
 * a log scale, domain accuracy, λ/lr, validation mIoU), the per-class IoU table with each class's colour, the
 * prediction grid (also written as predictions.png) with its legend, the config and the environment.
 * Returns the files written.
 */
export async function writeRunReport(runDir: string, options: RunReportOptions): Promise<string[]> {
  mkdirSync(runDir, { recursive: true });
  const written: string[] = [];
  const palette = options.palette ?? [];
  let png: Uint8Array | null = null;
  if (options.grid?.rows.length) {
    png = await imageGridPng(options.grid.rows, options.grid.titles, palette, join(runDir, 'predictions.png'));
    written.push('predictions.png');
  }
  const final = options.final;
  const charts = runCharts(options.metrics, options.evals);
  const lastStep = options.metrics.at(-1)?.step;
  const kpis = [
    ...(final ? [['target mIoU', `${(100 * (final.miouPresent ?? final.miou)).toFixed(1)} %`]] : []),
    ...(options.evals.length > 1
      ? (() => {
          const best = options.evals.reduce((a, b) => (b.miou > a.miou ? b : a));
          return [['best val mIoU', `${(100 * best.miou).toFixed(1)} % at step ${best.step}`]];
        })()
      : []),
    ...(lastStep !== undefined ? [['steps', String(lastStep)]] : []),
    ...(options.engine ? [['backend', options.engine.name]] : []),
  ];
  const legend = final
    ? classLegend(final.classNames, legendIds(tableClassIds(final), options.grid?.rows ?? []), palette)
    : '';
  const body = [
    `<header><h1>${esc(options.title)}</h1>${linksNav(options.links)}</header>`,
    options.banner ? `<p class="banner" role="note">${esc(options.banner)}</p>` : '',
    ...(options.notes ?? []).map((n) => `<p class="summary">${esc(n)}</p>`),
    kpis.length
      ? `<div class="kpis">${kpis.map(([k, v]) => `<div class="kpi">${esc(k)}<b>${esc(v)}</b></div>`).join('')}</div>`
      : '',
    final
      ? `<section aria-labelledby="sec-iou"><h2 id="sec-iou">Target validation IoU</h2>${iouTable(
          [{ name: 'this run', result: final }],
          palette,
          `${final.dataset}, ${final.images} images: IoU and accuracy per class (%)`,
        )}</section>`
      : '',
    chartsSection(charts),
    gridSection(png, `${options.grid?.titles.join(' | ')}: ${options.grid?.rows.length} rows`, legend),
    options.config !== undefined
      ? `<section aria-labelledby="sec-config"><h2 id="sec-config">Config</h2><details><summary>resolved config (${flattenConfig(options.config).length} keys; config.json in the run folder)</summary>${keyValueTable(flattenConfig(options.config), 'config.json')}</details></section>`
      : '',
    environmentSection(options.engine),
    '<footer class="muted"><p>TensorBoard: <code>tensorboard --logdir .</code> in this folder (events.out.tfevents.*). Per-step numbers: metrics.jsonl.</p></footer>',
  ].join('\n');
  writeFileSync(join(runDir, 'report.html'), htmlPage({ title: options.title, body, charts }));
  written.push('report.html');
  return written;
}

/** What {@link writeDemoReport} needs. */
export interface DemoReportOptions {
  title: string;
  /** Paragraphs above the table. */
  intro: string[];
  /** A warning at the top (the --quick smoke test). */
  banner?: string;
  columns: { name: string; result: EvalResult }[];
  /** Paragraphs below the table (gain, wall time). */
  outro: string[];
  grid?: { png: Uint8Array; titles: string[]; rows: GridRow[] };
  palette: Palette;
  /** The runs, each in a sub-folder with its own report.html. */
  runs: { name: string; dir: string }[];
  engine?: EngineInfo;
}

/**
 * The demo's report.html: the side-by-side IoU table with class colours, the prediction grid with its legend, the
 * runs' curves overlaid, links to each run's own report, the environment. One self-contained file.
 */
export function writeDemoReport(outDir: string, o: DemoReportOptions): void {
  const runs = o.runs.map((r) => ({ ...r, metrics: readMetrics(join(r.dir, 'metrics.jsonl')) }));
  const charts = overlayCharts(
    runs.map((r) => ({ name: r.name, metrics: r.metrics.filter((m) => m.loss_total !== undefined) })),
  );
  const first = o.columns[0].result;
  const body = [
    `<header><h1>${esc(o.title)}</h1>${linksNav(runs.map((r) => ({ href: `${relative(outDir, r.dir)}/report.html`, label: `${r.name}: run report` })))}</header>`,
    o.banner ? `<p class="banner" role="note">${esc(o.banner)}</p>` : '',
    ...o.intro.map((p) => `<p class="summary">${esc(p)}</p>`),
    `<section aria-labelledby="sec-iou"><h2 id="sec-iou">Target validation IoU</h2>${iouTable(o.columns, o.palette, `${first.dataset}, ${first.images} images: IoU per class (%)`)}</section>`,
    ...o.outro.map((p) => `<p>${esc(p)}</p>`),
    gridSection(
      o.grid?.png ?? null,
      `${o.grid?.titles.join(' | ')}: ${o.grid?.rows.length} target validation images`,
      classLegend(first.classNames, legendIds(tableClassIds(first), o.grid?.rows ?? []), o.palette),
    ),
    chartsSection(charts, 'Training curves, runs overlaid'),
    environmentSection(o.engine),
  ].join('\n');
  writeFileSync(join(outDir, 'report.html'), htmlPage({ title: o.title, body, charts }));
}

/**
 * A report over many runs (the ablation of `road bench synthcity`): the benchmark's Markdown summary rendered as
 * HTML, every run's curves overlaid per loss term (one colour per group, later seeds dashed), links to each run's
 * report.html. One self-contained file, `report.html` in `outDir`.
 */
export function writeMultiRunReport(
  outDir: string,
  o: {
    title: string;
    markdown: string;
    /** The runs; `group` (e.g. the preset) picks the colour, `seed` places the run on the final-mIoU chart. */
    runs: { name: string; dir: string; group?: string; seed?: number }[];
    engine?: EngineInfo;
  },
): string {
  const runs = o.runs.map((r) => ({
    ...r,
    metrics: readMetrics(join(r.dir, 'metrics.jsonl')).filter((m) => m.loss_total !== undefined),
  }));
  const final = finalMiouChart(runs);
  const charts = [...(final ? [final] : []), ...overlayCharts(runs)];
  const summary = (marked.parse(o.markdown, { async: false, gfm: true }) as string).replace(
    /<th([ >])/g,
    '<th scope="col"$1',
  );
  const links = runs
    .map((r) => {
      const href = `${relative(outDir, r.dir)}/report.html`;
      return existsSync(join(r.dir, 'report.html'))
        ? `<li><a href="${esc(href)}">${esc(r.name)}</a></li>`
        : `<li>${esc(r.name)} <span class="muted">(no report: the run did not finish)</span></li>`;
    })
    .join('');
  const body = [
    `<div class="md">${summary}</div>`,
    chartsSection(charts, 'Final mIoU and training curves, all runs overlaid'),
    `<section aria-labelledby="sec-runs"><h2 id="sec-runs">Run reports</h2><ul>${links}</ul></section>`,
    environmentSection(o.engine),
  ].join('\n');
  const path = join(outDir, 'report.html');
  writeFileSync(path, htmlPage({ title: o.title, body, charts }));
  return path;
}
