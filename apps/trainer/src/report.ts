import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';

/** One line of a chart. */
export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/**
 * A line chart as an SVG string (no dependencies; rendered to PNG with sharp by {@link svgToPng}).
 * Non-finite points are skipped.
 */
export function lineChartSvg(options: {
  title: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
}): string {
  const { title, series, xLabel = 'step', yLabel = '', width = 640, height = 360 } = options;
  const m = { left: 64, right: 150, top: 36, bottom: 46 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  let x0 = Math.min(...pts.map((p) => p[0]));
  let x1 = Math.max(...pts.map((p) => p[0]));
  let y0 = options.yMin ?? Math.min(...pts.map((p) => p[1]));
  let y1 = options.yMax ?? Math.max(...pts.map((p) => p[1]));
  if (!pts.length) {
    x0 = 0;
    x1 = 1;
    y0 = 0;
    y1 = 1;
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y1 = y0 + Math.max(1e-6, Math.abs(y0) * 0.1);
    y0 = y0 - Math.max(1e-6, Math.abs(y0) * 0.1);
  }
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t);
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 17}" font-size="11" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 8}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>`);
  if (yLabel) {
    out.push(
      `<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(yLabel)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 1) {
      out.push(`<circle cx="${sx(p[0][0])}" cy="${sy(p[0][1])}" r="3" fill="${color}"/>`);
    } else if (p.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    const ly = m.top + 10 + i * 18;
    out.push(
      `<line x1="${m.left + pw + 12}" x2="${m.left + pw + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(`<text x="${m.left + pw + 38}" y="${ly + 4}" font-size="12">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders an SVG string to a PNG file with sharp (librsvg). */
export async function svgToPng(svg: string, path: string): Promise<void> {
  await sharp(Buffer.from(svg)).png().toFile(path);
}

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
): Promise<void> {
  if (!rows.length) return;
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
  await sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .png()
    .toFile(path);
}

/** A metrics.jsonl row as the trainer writes it. */
export interface MetricsRow {
  step: number;
  [key: string]: number | string | null | undefined;
}

/**
 * Writes the run report: loss curves, λ/lr, domain accuracy, mIoU over time (PNG charts made from SVG),
 * the qualitative grid (if given), and report.html linking them with the final IoU table.
 */
export async function writeRunReport(
  runDir: string,
  options: {
    title: string;
    metrics: MetricsRow[];
    evals: { step: number; miou: number }[];
    iouTableMarkdown?: string;
    grid?: { rows: GridRow[]; titles: string[]; palette: readonly (readonly number[])[] };
    notes?: string[];
  },
): Promise<string[]> {
  mkdirSync(runDir, { recursive: true });
  const written: string[] = [];
  const col = (k: string) =>
    options.metrics.filter((r) => typeof r[k] === 'number').map((r) => [r.step, r[k] as number] as [number, number]);
  const lossKeys = ['loss_total', 'loss_seg', 'loss_dst', 'loss_spt'].filter((k) => col(k).length > 0);
  const charts: [string, string][] = [
    [
      'loss-curves.png',
      lineChartSvg({
        title: 'Training losses',
        series: lossKeys.map((k) => ({ name: k.replace('loss_', ''), points: smooth(col(k)) })),
        yLabel: 'loss',
      }),
    ],
  ];
  if (col('domain_accuracy').length) {
    charts.push([
      'domain-accuracy.png',
      lineChartSvg({
        title: 'Region domain-classifier accuracy',
        series: [{ name: 'accuracy', points: smooth(col('domain_accuracy')) }],
        yMin: 0,
        yMax: 1,
      }),
    ]);
  }
  charts.push([
    'schedule.png',
    lineChartSvg({
      title: 'Schedules',
      series: [
        { name: 'GRL λ', points: col('lambda_grl') },
        { name: 'lr ×100', points: col('lr').map(([x, y]) => [x, y * 100] as [number, number]) },
      ],
    }),
  ]);
  if (options.evals.length) {
    charts.push([
      'miou.png',
      lineChartSvg({
        title: 'Target validation mIoU',
        series: [{ name: 'mIoU %', points: options.evals.map((e) => [e.step, 100 * e.miou] as [number, number]) }],
        yLabel: 'mIoU (%)',
      }),
    ]);
  }
  for (const [name, svg] of charts) {
    await svgToPng(svg, join(runDir, name));
    written.push(name);
  }
  if (options.grid?.rows.length) {
    await imageGridPng(options.grid.rows, options.grid.titles, options.grid.palette, join(runDir, 'predictions.png'));
    written.push('predictions.png');
  }
  const html = [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<title>${esc(options.title)}</title>`,
    '<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>',
    '</head><body>',
    `<h1>${esc(options.title)}</h1>`,
    ...(options.notes ?? []).map((n) => `<p>${esc(n)}</p>`),
    ...(options.iouTableMarkdown
      ? ['<h2>Target validation IoU</h2>', `<pre>${esc(options.iouTableMarkdown)}</pre>`]
      : []),
    ...written.map((n) => `<h2>${esc(basename(n, '.png'))}</h2><img src="${n}" alt="${esc(n)}">`),
    '</body></html>',
  ].join('\n');
  writeFileSync(join(runDir, 'report.html'), html);
  written.push('report.html');
  return written;
}

/** Exponential moving average for noisy per-step curves (display only). */
function smooth(points: [number, number][], alpha = 0.1): [number, number][] {
  if (points.length < 50) return points;
  let m = points[0][1];
  return points.map(([x, y]) => {
    m = Number.isFinite(y) ? (1 - alpha) * m + alpha * y : m;
    return [x, m];
  });
}
