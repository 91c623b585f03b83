import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { platform } from 'node:process';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineInfo } from './engine.js';
import { type EvalResult, headlineMiou, SYNTHCITY_CLASS_IDS } from './evaluate.js';
import { nativeBuild, roadVersion } from './versions.js';

/**
 * Self-contained HTML report pages: everything inlined (uPlot's script and stylesheet, the chart data, images as
 * data URLs), so a report opens offline from any folder. Charts are uPlot line charts with hover values (the
 * legend shows the values under the cursor), drag-to-zoom (double-click resets), an optional log scale and EMA
 * smoothing, and several runs overlaid.
 */

/** One line of a chart: (x, y) points; non-finite y are gaps. */
export interface ChartSeries {
  name: string;
  points: [number, number][];
  color?: string;
  /** Draw against the right-hand axis (e.g. a learning rate next to λ). */
  right?: boolean;
  dash?: boolean;
  /** Markers only, no line (values that are not a sequence, e.g. one per seed). */
  markers?: boolean;
}

/** An interactive chart. */
export interface ChartSpec {
  id: string;
  title: string;
  series: ChartSeries[];
  xLabel?: string;
  yLabel?: string;
  rightLabel?: string;
  /** Offer the log-scale switch, and its starting state (losses: on). */
  log?: 'on' | 'off';
  /** Offer EMA smoothing (noisy per-step curves); its starting weight. */
  smoothing?: number;
  /** Fixed y range, e.g. [0, 1] for accuracies. */
  yRange?: [number, number];
}

/** A link between reports. */
export interface ReportLink {
  href: string;
  label: string;
}

export const SERIES_COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const req = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string; version: string } | null = null;

/** uPlot's minified script and stylesheet (MIT licence), read once from the installed package. */
export function uplotBundle(): { js: string; css: string; version: string } {
  if (!uplotAssets) {
    const js = readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    const version = /\(v([\d.]+)\)/.exec(js)?.[1] ?? '?';
    uplotAssets = {
      js: `/*! uPlot ${version}, MIT License, Copyright (c) 2022 Leon Sorokin */\n${js}`,
      css,
      version,
    };
  }
  return uplotAssets;
}

/** JSON for a <script type="application/json"> block (no "</script>" can close it early). */
function scriptJson(v: unknown): string {
  return JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg2:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);max-width:1100px;margin:0 auto;padding:1.2em}
h1{font-size:1.6em;margin:.2em 0 .4em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
a{color:var(--accent)}
nav.links{display:flex;flex-wrap:wrap;gap:.4em 1em;margin:.3em 0 1em;font-size:.95em}
.summary{font-size:1.05em}.muted{color:var(--muted)}
.banner{background:#fff8c5;border:1px solid #d4a72c;padding:.5em .8em;border-radius:6px;margin:.8em 0}
.kpis{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.kpi{border:1px solid var(--line);border-radius:8px;padding:.5em .9em;min-width:9em}
.kpi b{display:block;font-size:1.4em}
table{border-collapse:collapse;margin:.5em 0;font-size:.93em}
th,td{border:1px solid var(--line);padding:.25em .6em;text-align:left;vertical-align:top}
th{background:var(--bg2)}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.total td,tr.total th{font-weight:bold;background:#fbfbfb}
.swatch{display:inline-block;width:1em;height:1em;border:1px solid #0004;vertical-align:-.15em;margin-right:.45em;border-radius:2px}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.4em 0}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
.chart-tools{display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center;font-size:.9em;margin:.2em 0 .3em}
.chart-tools button{font:inherit;padding:.1em .6em}
.chart{min-height:300px}
.chart:focus-visible{outline:2px solid currentColor;outline-offset:3px}
.grid img{max-width:100%;image-rendering:pixelated;border:1px solid var(--line)}
details{margin:.5em 0}summary{cursor:pointer}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9em}
pre{background:var(--bg2);padding:.8em;overflow:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));gap:0 1.4em}
`;

// The page's script (plain ES2017, no template literals): builds the uPlot charts from the JSON block.
const CLIENT = `
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('road-charts').textContent || '[]');
  var charts = {};
  window.roadCharts = charts;
  function fmt(v) {
    if (v == null || !isFinite(v)) return '--';
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  function tick(v) { return v == null ? '' : fmt(v); }
  function ema(ys, w) {
    if (!w) return ys;
    // exponential moving average with bias correction (as TensorBoard smooths): m_n / (1 - w^n)
    var out = [], m = 0, n = 0;
    for (var i = 0; i < ys.length; i++) {
      var y = ys[i];
      if (y == null) { out.push(null); continue; }
      n++;
      m = w * m + (1 - w) * y;
      out.push(m / (1 - Math.pow(w, n)));
    }
    return out;
  }
  function build(spec, state) {
    var xs = [];
    var seen = {};
    spec.series.forEach(function (s) {
      s.points.forEach(function (p) { if (!seen[p[0]]) { seen[p[0]] = true; xs.push(p[0]); } });
    });
    xs.sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (x, i) { index[x] = i; });
    var data = [xs];
    spec.series.forEach(function (s) {
      var ys = xs.map(function () { return null; });
      s.points.forEach(function (p) {
        var y = p[1];
        if (y == null || !isFinite(y) || (state.log && y <= 0)) y = null;
        ys[index[p[0]]] = y;
      });
      data.push(spec.smoothing !== undefined ? ema(ys, state.smoothing) : ys);
    });
    var hasRight = spec.series.some(function (s) { return s.right; });
    var el = document.getElementById(spec.id);
    var width = Math.max(280, el.clientWidth || 600);
    var opts = {
      width: width,
      height: 300,
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: {
        x: { time: false },
        y: state.log ? { distr: 3, log: 10 } : spec.yRange ? { range: spec.yRange } : {},
        r: {}
      },
      axes: [
        { label: spec.xLabel || 'step' },
        { label: (spec.yLabel || '') + (state.log ? ' (log)' : ''), scale: 'y', size: 60, values: function (u, v) { return v.map(tick); } }
      ].concat(hasRight ? [{ side: 1, scale: 'r', label: spec.rightLabel || '', grid: { show: false }, size: 60, values: function (u, v) { return v.map(tick); } }] : []),
      series: [{ label: spec.xLabel || 'step' }].concat(spec.series.map(function (s) {
        return { label: s.name, stroke: s.color, width: 1.6, dash: s.dash ? [6, 4] : undefined, scale: s.right ? 'r' : 'y', spanGaps: true, value: function (u, v) { return fmt(v); }, points: s.markers ? { show: true, size: 9, fill: s.color } : { show: s.points.length < 2 }, paths: s.markers ? function () { return null; } : undefined };
      }))
    };
    if (charts[spec.id]) charts[spec.id].destroy();
    el.textContent = '';
    var u = new uPlot(opts, data, el);
    u.root.setAttribute('role', 'img');
    u.root.setAttribute('aria-label', el.getAttribute('data-alt') || spec.title);
    charts[spec.id] = u;
    return u;
  }
  // Keyboard: with the chart focused, arrows step through the x values (Home / End: first / last), the cursor and
  // legend follow, and the readout (a polite live region) says the step and every series' value; Escape resets zoom.
  function keyboard(spec, state) {
    var el = document.getElementById(spec.id);
    var readout = document.getElementById(spec.id + '-readout');
    var idx = -1;
    el.tabIndex = 0;
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', (el.getAttribute('data-alt') || spec.title) + '. Arrow keys read the values.');
    if (readout) el.setAttribute('aria-describedby', readout.id);
    el.addEventListener('keydown', function (e) {
      var u = charts[spec.id];
      var xs = u.data[0];
      var n = xs.length;
      if (!n) return;
      if (e.key === 'ArrowRight') idx = idx < 0 ? 0 : Math.min(n - 1, idx + 1);
      else if (e.key === 'ArrowLeft') idx = idx < 0 ? n - 1 : Math.max(0, idx - 1);
      else if (e.key === 'Home') idx = 0;
      else if (e.key === 'End') idx = n - 1;
      else if (e.key === 'Escape') { build(spec, state); idx = -1; if (readout) readout.textContent = 'zoom reset'; e.preventDefault(); return; }
      else return;
      e.preventDefault();
      var x = xs[idx];
      if (x < u.scales.x.min || x > u.scales.x.max) u.setScale('x', { min: xs[0], max: xs[n - 1] });
      u.setCursor({ left: u.valToPos(x, 'x'), top: u.over.clientHeight / 2 });
      var parts = [];
      for (var k = 1; k < u.series.length; k++) parts.push(u.series[k].label + ' ' + fmt(u.data[k][idx]));
      if (readout) readout.textContent = (spec.xLabel || 'step') + ' ' + x + ': ' + parts.join(', ');
    });
  }
  specs.forEach(function (spec) {
    var state = { log: spec.log === 'on', smoothing: spec.smoothing || 0 };
    var tools = document.getElementById(spec.id + '-tools');
    var u = build(spec, state);
    keyboard(spec, state);
    if (tools) {
      var logBox = tools.querySelector('input[data-role=log]');
      if (logBox) logBox.addEventListener('change', function () { state.log = logBox.checked; u = build(spec, state); });
      var sm = tools.querySelector('input[data-role=smoothing]');
      var smOut = tools.querySelector('output');
      if (sm) sm.addEventListener('input', function () { state.smoothing = Number(sm.value); if (smOut) smOut.textContent = sm.value; u = build(spec, state); });
      var reset = tools.querySelector('button[data-role=reset]');
      if (reset) reset.addEventListener('click', function () { u = build(spec, state); });
    }
  });
  var pending = null;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      specs.forEach(function (spec) {
        var u = charts[spec.id];
        var el = document.getElementById(spec.id);
        if (u && el) u.setSize({ width: Math.max(280, el.clientWidth), height: 300 });
      });
    }, 100);
  });
})();
`;

/** The figure + controls for one chart (the script draws into it). */
export function chartFigure(spec: ChartSpec): string {
  const names = spec.series.map((s) => s.name).join(', ');
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const range = xs.length ? `${Math.min(...xs)} to ${Math.max(...xs)}` : 'no data';
  const last = spec.series
    .map((s) => {
      const p = s.points.filter((q) => Number.isFinite(q[1])).at(-1);
      return p ? `${s.name} ${Number(p[1].toPrecision(4))} at ${p[0]}` : null;
    })
    .filter((x) => x !== null);
  const alt = `${spec.title}: line chart of ${names} over ${spec.xLabel ?? 'step'} ${range}${last.length ? `; last values: ${last.join(', ')}` : ''}`;
  const tools = [
    spec.log
      ? `<label><input type="checkbox" data-role="log"${spec.log === 'on' ? ' checked' : ''}> log scale</label>`
      : '',
    spec.smoothing !== undefined
      ? `<label>smoothing <input type="range" data-role="smoothing" min="0" max="0.99" step="0.01" value="${spec.smoothing}"> <output>${spec.smoothing}</output></label>`
      : '',
    '<button type="button" data-role="reset">reset zoom</button>',
    '<span class="muted">hover for values · drag to zoom · double-click to reset · keyboard: focus the chart, ← → Home End, Esc</span>',
  ].join('');
  return [
    `<figure aria-labelledby="${spec.id}-title">`,
    `<figcaption id="${spec.id}-title">${esc(spec.title)}</figcaption>`,
    `<div class="chart-tools" id="${spec.id}-tools">${tools}</div>`,
    `<div class="chart" id="${spec.id}" data-alt="${esc(alt)}"><noscript>${esc(alt)} (needs JavaScript)</noscript></div>`,
    `<p class="muted" id="${spec.id}-readout" aria-live="polite"></p>`,
    '</figure>',
  ].join('\n');
}

/** A whole page: head with inlined styles, the body, then the chart data and scripts. */
export function htmlPage(options: { title: string; body: string; charts: ChartSpec[] }): string {
  const uplot = uplotBundle();
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="road ${esc(roadVersion())}">`,
    `<title>${esc(options.title)}</title>`,
    `<style>${uplot.css}</style>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    options.body,
    '</main>',
    `<script type="application/json" id="road-charts">${scriptJson(options.charts)}</script>`,
    `<script>${uplot.js}</script>`,
    `<script>${CLIENT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The class rows a result's table shows: SynthCity's 8 classes for SynthCity results, else all. */
export function tableClassIds(r: EvalResult): number[] {
  return r.miouPresent !== undefined ? [...SYNTHCITY_CLASS_IDS] : r.classNames.map((_, i) => i);
}

function swatch(color: readonly number[] | undefined): string {
  const c = color ? `rgb(${color[0]},${color[1]},${color[2]})` : 'transparent';
  return `<span class="swatch" style="background:${c}" aria-hidden="true"></span>`;
}

/** A colour legend: one swatch per class id (plus "ignore" in black). */
export function classLegend(names: readonly string[], ids: number[], palette: readonly (readonly number[])[]): string {
  return `<ul class="legend" aria-label="class colours">${ids
    .map((i) => `<li>${swatch(palette[i])}${esc(names[i] ?? `class ${i}`)}</li>`)
    .join('')}<li>${swatch([0, 0, 0])}ignore / not labelled</li></ul>`;
}

/**
 * Per-class IoU table (%), one column per result, each class with its colour swatch; the headline mIoU row in bold.
 * With one result, also the per-class accuracy.
 */
export function iouTable(
  columns: { name: string; result: EvalResult }[],
  palette: readonly (readonly number[])[],
  caption: string,
): string {
  const first = columns[0].result;
  const pct = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? (100 * v).toFixed(1) : 'n/a');
  const single = columns.length === 1;
  const head = `<tr><th scope="col">class</th>${columns.map((c) => `<th scope="col">${esc(c.name)} IoU</th>`).join('')}${single ? '<th scope="col">accuracy</th>' : ''}</tr>`;
  const rows = tableClassIds(first).map(
    (i) =>
      `<tr><th scope="row">${swatch(palette[i])}${esc(first.classNames[i] ?? `class ${i}`)}</th>${columns.map((c) => `<td class="num">${pct(c.result.iou[i])}</td>`).join('')}${single ? `<td class="num">${pct(first.accuracy[i])}</td>` : ''}</tr>`,
  );
  const total = (label: string, f: (r: EvalResult) => number | undefined, bold = false) =>
    `<tr${bold ? ' class="total"' : ''}><th scope="row">${esc(label)}</th>${columns.map((c) => `<td class="num">${pct(f(c.result))}</td>`).join('')}${single ? '<td></td>' : ''}</tr>`;
  const totals =
    first.miouPresent !== undefined
      ? [
          total('mIoU (8 SynthCity classes)', headlineMiou, true),
          total('mIoU (19, predicted-but-absent count 0)', (r) => r.miou),
        ]
      : [
          total('mIoU', (r) => r.miou, true),
          ...(first.miou16 !== undefined ? [total('mIoU16', (r) => r.miou16), total('mIoU13', (r) => r.miou13)] : []),
        ];
  totals.push(total('pixel accuracy', (r) => r.pixelAccuracy));
  return `<table><caption>${esc(caption)}</caption><thead>${head}</thead><tbody>${[...rows, ...totals].join('')}</tbody></table>`;
}

/** A two-column key/value table. */
export function keyValueTable(rows: [string, string][], caption: string): string {
  return `<table><caption>${esc(caption)}</caption><tbody>${rows
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td><code>${esc(v)}</code></td></tr>`)
    .join('')}</tbody></table>`;
}

/** A config object as dotted key → JSON value rows. */
export function flattenConfig(v: unknown, prefix = ''): [string, string][] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (!entries.length) return [[prefix, '{}']];
    return entries.flatMap(([k, x]) => flattenConfig(x, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, typeof v === 'string' ? v : JSON.stringify(v)]];
}

/** The environment a report was made in: backend, native kernels, versions. */
export function environmentRows(engine: EngineInfo | undefined): [string, string][] {
  const rows: [string, string][] = [];
  if (engine) {
    rows.push(['backend', engine.name]);
    if (engine.native)
      rows.push([
        'native kernels',
        engine.native.loaded
          ? `loaded (${engine.native.threads ?? '?'} threads, ${engine.native.isa ?? '?'})`
          : `not loaded: ${engine.native.reason}`,
      ]);
    if (engine.skipped.length)
      rows.push(['backends skipped', engine.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')]);
  }
  const native = nativeBuild();
  rows.push(
    ['road', roadVersion()],
    ['tfjs-core', tf.version_core],
    ['@road/native', native.version ? `${native.version}: ${native.build}` : native.build],
    ['node', `${process.version} (${platform}-${process.arch})`],
    ['uPlot (charts)', uplotBundle().version],
    ['written', new Date().toISOString()],
  );
  return rows;
}

/** `<nav>` of links to other reports. */
export function linksNav(links: ReportLink[] | undefined): string {
  if (!links?.length) return '';
  return `<nav class="links" aria-label="related reports">${links.map((l) => `<a href="${esc(l.href)}">${esc(l.label)}</a>`).join('')}</nav>`;
}

/** An image as a data URL (PNG bytes). */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
