#!/usr/bin/env node
// `pnpm bench`: side-by-side benchmarks of road against PyTorch (and numpy), one table, and a JSON record of the run in
// bench/results/<date>-<commit>-<backend>-<name>.json (schema: bench/lib/record.mjs). Every benchmark runs in its own
// child process (bench/node/*.mjs, bench/reference/*.py), one at a time, so peak RSS is that benchmark's alone and
// nothing runs concurrently with a timing.
//
//   node bench/run.mjs [--quick] [--only road-step,vgg16-fcn,data,decode,confusion] [--backend wasm]
//                      [--no-torch] [--no-record] [--verbose]
//
// Uses the packages' built dist through the workspace (pnpm bench builds first; by hand: pnpm build).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { BENCH_DIR, cpuModel, gitCommit, loadAverage, nproc, PYTHON, parseArgs, ROOT } from './lib/common.mjs';
import { checkRecord, recordFileName } from './lib/record.mjs';

const BENCHES = ['road-step', 'vgg16-fcn', 'data', 'decode', 'confusion'];
const ALIASES = {
  road: 'road-step',
  roadlite: 'road-step',
  'road-lite': 'road-step',
  vgg: 'vgg16-fcn',
  vgg16: 'vgg16-fcn',
  datasets: 'data',
  cm: 'confusion',
};
const HELP = `usage: node bench/run.mjs [options]
  --quick              fewer warm-up steps and repetitions (numbers are rougher)
  --only a,b           run only these: ${BENCHES.join(', ')}
  --backend NAME       tfjs backend for our side (auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu; default auto)
  --no-torch           skip the PyTorch reference steps
  --no-record          print the table only (by default the run is also written to bench/results/ as JSON)
  --verbose            show the children's progress lines`;

const args = parseArgs(process.argv.slice(2));
if (args.help || args.h) {
  console.log(HELP);
  process.exit(0);
}
const known = new Set(['quick', 'only', 'backend', 'no-torch', 'no-record', 'write', 'verbose', '_']);
for (const k of Object.keys(args)) {
  if (!known.has(k)) {
    console.error(`bench: unknown option --${k}\n${HELP}`);
    process.exit(2);
  }
}
const quick = Boolean(args.quick);
const backend = typeof args.backend === 'string' ? args.backend : 'auto';
const verbose = Boolean(args.verbose);
let only = BENCHES;
if (args.only !== undefined) {
  if (typeof args.only !== 'string') {
    console.error(`bench: --only needs a list, e.g. --only road-step,confusion (known: ${BENCHES.join(', ')})`);
    process.exit(2);
  }
  only = args.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => ALIASES[s] ?? s);
  const bad = only.filter((s) => !BENCHES.includes(s));
  if (bad.length) {
    console.error(`bench: unknown benchmark(s) ${bad.join(', ')} in --only (known: ${BENCHES.join(', ')})`);
    process.exit(2);
  }
}
const want = (name) => only.includes(name);

const REPS = quick
  ? {
      road: { warmup: 1, reps: 3 },
      vgg: { warmup: 1, reps: 1 },
      data: { batches: 5, big: 1, passes: 1 },
      decode: { pairs: 4, passes: 2 },
      cm: 3,
    }
  : {
      road: { warmup: 15, reps: 20 },
      vgg: { warmup: 1, reps: 2 },
      data: { batches: 20, big: 3, passes: 3 },
      decode: { pairs: 16, passes: 5 },
      cm: 9,
    };

const SMALL_VGG = [160, 320];
const log = (l) => process.stderr.write(`bench: ${l}\n`);
const started = new Date();
const loadStart = loadAverage();
const loadStartValues = loadavg();
const t0 = performance.now();

// ------------------------------------------------------------------------------------------------------------
// Children

/** Runs a child, returns its parsed JSON result (Node: the `BENCH_JSON` line; Python: the last stdout line). */
function runChild(label, cmd, cmdArgs) {
  return new Promise((resolve) => {
    const ts = performance.now();
    log(`${label} …`);
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (verbose) process.stderr.write(d);
    });
    child.on('close', (code) => {
      const secs = ((performance.now() - ts) / 1000).toFixed(0);
      const lines = out.trim().split('\n');
      const tagged = lines.find((l) => l.startsWith('BENCH_JSON '));
      const raw = tagged ? tagged.slice('BENCH_JSON '.length) : lines[lines.length - 1];
      let result = null;
      try {
        result = JSON.parse(raw);
      } catch {}
      if (result?.error) {
        log(`${label} FAILED (exit ${code}, ${secs} s): ${result.error}`);
        resolve(result);
        return;
      }
      if (code !== 0 || !result) {
        const why = err.trim().split('\n').slice(-6).join('\n    ');
        log(`${label} FAILED (exit ${code}, ${secs} s):\n    ${why}`);
        resolve({ error: `exit ${code}: ${err.trim().split('\n').pop() ?? ''}` });
        return;
      }
      log(`${label} done in ${secs} s`);
      resolve(result);
    });
  });
}

const node = (script, a, label = script) => runChild(label, process.execPath, [join(BENCH_DIR, 'node', script), ...a]);
const py = (script, a, label = script) => runChild(label, PYTHON, [join(BENCH_DIR, 'reference', script), ...a]);

/** Whether `import torch` works; installs python3-torch with apt when root, else explains and says no. */
function torchAvailable() {
  const ok = () => {
    try {
      execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (ok()) return true;
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    log('PyTorch missing: apt-get install -y python3-torch …');
    try {
      execFileSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: verbose ? 'inherit' : 'ignore' });
    } catch (e) {
      log(`apt-get install python3-torch failed: ${e.message.split('\n')[0]}`);
    }
    if (ok()) return true;
  }
  log(`PyTorch is not importable by ${PYTHON} (install Debian's python3-torch as root); skipping the PyTorch rows`);
  return false;
}

// ------------------------------------------------------------------------------------------------------------
// Run

const results = {};
const torch = !args['no-torch'] && (want('road-step') || want('vgg16-fcn')) ? torchAvailable() : false;
const torchSkip = args['no-torch'] ? 'skipped (--no-torch)' : 'skipped (PyTorch not importable)';
const backendArgs = ['--backend', backend];

if (want('road-step')) {
  const r = REPS.road;
  results.road = await node(
    'train-step.mjs',
    ['--net', 'road-lite', ...backendArgs, '--warmup', String(r.warmup), '--reps', String(r.reps), '--profile', '10'],
    'ROAD step road-lite (ours)',
  );
  results.roadTorch = torch
    ? await py(
        'road_step.py',
        ['--warmup', String(r.warmup), '--reps', String(r.reps)],
        'ROAD step road-lite (PyTorch)',
      )
    : { error: torchSkip };
}
if (want('vgg16-fcn')) {
  const r = REPS.vgg;
  const reps = ['--warmup', String(r.warmup), '--reps', String(r.reps)];
  results.vgg = await node(
    'train-step.mjs',
    ['--net', 'vgg16-fcn', ...backendArgs, '--size', '320x640', ...reps],
    'ROAD step vgg16-fcn 320×640 (ours)',
  );
  results.vggTorch = torch
    ? await py('vgg16_fcn_step.py', reps, 'ROAD step vgg16-fcn 320×640 (PyTorch)')
    : { error: torchSkip };
  if (results.vgg.error) {
    // 320×640 does not fit (e.g. the wasm backend's 4 GiB heap): measure both engines at half the size too, so the
    // record still has a ratio for this net.
    log(`vgg16-fcn at 320×640 failed on our side; measuring both engines at ${SMALL_VGG.join('×')} as well`);
    const [h, w] = SMALL_VGG;
    results.vggSmall = await node(
      'train-step.mjs',
      ['--net', 'vgg16-fcn', ...backendArgs, '--size', `${h}x${w}`, ...reps],
      `ROAD step vgg16-fcn ${h}×${w} (ours)`,
    );
    const dims = ['--height', String(h), '--width', String(w), '--full-height', String(h), '--full-width', String(w)];
    results.vggSmallTorch = torch
      ? await py('vgg16_fcn_step.py', [...reps, ...dims], `ROAD step vgg16-fcn ${h}×${w} (PyTorch)`)
      : { error: torchSkip };
  }
}
if (want('data')) {
  const r = REPS.data;
  results.data = await node('data.mjs', [
    ...backendArgs,
    '--batches',
    String(r.batches),
    '--big-batches',
    String(r.big),
    '--passes',
    String(r.passes),
  ]);
}
if (want('decode'))
  results.decode = await node('decode.mjs', [
    '--pairs',
    String(REPS.decode.pairs),
    '--passes',
    String(REPS.decode.passes),
  ]);
if (want('confusion')) results.confusion = await node('confusion.mjs', ['--runs', String(REPS.cm)]);

const seconds = (performance.now() - t0) / 1000;
const loadEnd = loadAverage();
const loadEndValues = loadavg();

// ------------------------------------------------------------------------------------------------------------
// Table

const rows = [];
const notes = [];
const fmt = (v, d = 1) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '—'
    : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const int = (v) => (v === undefined || v === null ? '—' : Number(v).toLocaleString('en-US'));
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const err = (r) => (r?.error ? r.error : null);
const row = (bench, metric, ours, ref, rat = '', target = '') => rows.push([bench, metric, ours, ref, rat, target]);
const mark = (ok) => (ok ? '✓' : '✗');

function stepRows(title, ours, ref, isRoad) {
  if (err(ours)) {
    const m = ours.memoryAtFailure;
    const mem = m
      ? ` (tensors held ${fmt(m.tensorBytes / 2 ** 30, 2)} GiB${m.wasmHeapBytes ? `, wasm heap ${fmt(m.wasmHeapBytes / 2 ** 30, 2)} GiB of its 4 GiB maximum` : ''}, peak RSS ${fmt(ours.peakRssMiB, 0)} MiB)`
      : '';
    notes.push(`${title}, ours: ${err(ours)}${mem}.`);
    row(title, 'FAILED (ours)', `note ${notes.length}`, '', '', '');
    if (!ref || err(ref)) return;
    title = '';
  }
  const o = err(ours) ? {} : ours;
  const p = err(ref) ? null : ref;
  const refNote = p ? '' : (ref?.error ?? 'not run');
  const ips = ratio(o.imagesPerSec, p?.imagesPerSec);
  const r = o.imagesPerSec && p?.imagesPerSec ? o.imagesPerSec / p.imagesPerSec : null;
  const speedTarget = isRoad && r !== null ? `≥0.2× ${mark(r >= 0.2)} · ≥0.5× ${mark(r >= 0.5)}` : '';
  row(
    title,
    `images/s (median of ${o.reps ?? p?.reps ?? '?'} after ${o.warmup ?? p?.warmup ?? '?'} warm-up)`,
    fmt(o.imagesPerSec, 2),
    p ? fmt(p.imagesPerSec, 2) : refNote,
    ips,
    speedTarget,
  );
  row('', 'ms / step (median)', fmt(o.medianMs, 0), p ? fmt(p.medianMs, 0) : '', '', '');
  row(
    '',
    'GFLOP / step (fwd×3 rule)',
    fmt((o.flops?.perStep ?? NaN) / 1e9, 2),
    p ? fmt(p.flops.perStep / 1e9, 2) : '',
    o.flops && p ? (o.flops.perStep === p.flops.perStep ? 'same' : 'DIFFER') : '',
    '',
  );
  row(
    '',
    'achieved GFLOP/s',
    fmt(o.gflopsPerSec, 2),
    p ? fmt(p.gflopsPerSec, 2) : '',
    ratio(o.gflopsPerSec, p?.gflopsPerSec),
    '',
  );
  const rss = ratio(o.peakRssMiB, p?.peakRssMiB);
  row(
    '',
    'peak RSS (MiB)',
    fmt(o.peakRssMiB, 0),
    p ? fmt(p.peakRssMiB, 0) : '',
    rss,
    o.peakRssMiB && p ? `≤2× ${mark(o.peakRssMiB <= 2 * p.peakRssMiB)}` : '',
  );
  if (o.params) {
    const pp = (x) => `${int(x.netTrainable)} / ${int(x.netTotal)} / ${int(x.classifiers)} / ${int(x.teacherBackbone)}`;
    const same =
      p && ['netTrainable', 'netTotal', 'classifiers', 'teacherBackbone'].every((k) => o.params[k] === p.params[k]);
    row(
      '',
      'params: net trainable / net incl. BN stats / region classifiers / teacher',
      pp(o.params),
      p ? pp(p.params) : '',
      p ? (same ? 'match' : 'MISMATCH') : '',
      '',
    );
  }
  if (o.tensors) {
    const t = o.tensors;
    const leaked = t.afterLast - t.afterFirst;
    row(
      '',
      `tensors after step 1 → after step ${t.steps}`,
      `${t.afterFirst} → ${t.afterLast}${leaked ? ` (LEAK: ${fmt(t.leakedPerStep, 1)}/step)` : ''}`,
      '',
      '',
      `0 leaked ${mark(leaked === 0)}`,
    );
  }
}

const engineName = results.road?.backend ?? results.vgg?.backend ?? results.data?.backend ?? backend;
const nativeInfo = results.road?.native ?? results.vgg?.native ?? null;
const nativeText = nativeInfo
  ? nativeInfo.loaded
    ? `; @road/native conv kernels: ${nativeInfo.threads} threads, ${nativeInfo.isa}`
    : `; @road/native not used (${nativeInfo.reason})`
  : '';
const torchName = results.roadTorch?.engine ?? results.vggTorch?.engine;
const torchThreads = results.roadTorch?.threads ?? results.vggTorch?.threads;
if (want('road-step')) {
  const s = results.road?.shapes;
  stepRows(
    `ROAD step, road-lite, ${s ? `${s.source[0]}+${s.target[0]} × ${s.source[1]}×${s.source[2]}` : '4+4 × 64×128'}`,
    results.road,
    results.roadTorch,
    true,
  );
}
if (want('vgg16-fcn')) {
  stepRows('ROAD step, vgg16-fcn, 1+1 × 320×640', results.vgg, results.vggTorch, false);
  if (results.vggSmall)
    stepRows(
      `ROAD step, vgg16-fcn, 1+1 × ${SMALL_VGG.join('×')} (320×640 failed)`,
      results.vggSmall,
      results.vggSmallTorch,
      false,
    );
}
if (want('data')) {
  const d = results.data;
  if (err(d)) row('data pipeline', 'error', err(d), '', '', '');
  else
    for (const r of d.rows)
      row('data pipeline (createBatchIterator)', `${r.label}: images/s`, fmt(r.imagesPerSec, 1), '', '', '');
}
if (want('decode')) {
  const d = results.decode;
  if (err(d) || d.skipped) row('decode 1024×512 pairs', 'error', err(d) ?? d.skipped, '', '', '');
  else
    for (const r of d.rows)
      row('decode 1024×512 (bench/node/decode.mjs)', `${r.label}: images/s`, fmt(r.imagesPerSec, 1), '', '', '');
}
if (want('confusion')) {
  const c = results.confusion;
  if (err(c)) row('confusion matrix 2048×1024', 'error', err(c), '', '', '');
  else {
    const np = c.numpy && !c.numpy.error ? c.numpy : null;
    row(
      'confusion matrix 2048×1024, 19 classes',
      `Mpixel/s (median of ${c.runs}); ref = numpy bincount`,
      fmt(c.mpixPerSec, 0),
      np ? fmt(np.mpixPerSec, 0) : (c.numpy?.error ?? 'not run'),
      np ? ratio(c.mpixPerSec, np.mpixPerSec) : '',
      np ? `same counts ${mark(np.checked)}` : '',
    );
  }
}

const header = [
  'benchmark',
  'metric',
  engineName === 'auto' ? 'ours' : `ours (${engineName})`,
  torchName ? `reference (${torchName}, ${torchThreads} threads)` : 'reference',
  'ours ÷ ref',
  'issue-6 target',
];
function markdownTable(head, body) {
  const all = [head, ...body].map((r) => r.map((c) => String(c ?? '').replace(/\|/g, '\\|')));
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (r) => `| ${r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(all[0]), sep, ...all.slice(1).map(line)].join('\n');
}
const table = markdownTable(header, rows);

function profileText() {
  const p = results.road?.profile;
  if (!p) return '';
  const out = [];
  out.push(
    `Per-kernel profile of the road-lite ROAD step on ${engineName} (tf.profile of ${p.steps} steps, medians: step ${fmt(p.stepMs, 0)} ms wall, ${fmt(p.kernelMs, 0)} ms inside ${int(p.kernels)} kernel calls, ${fmt(Math.max(0, p.stepMs - p.kernelMs), 0)} ms outside kernels; ${p.wrappersExcluded} op-scope wrapper entries left out, their kernels are counted):`,
    '',
  );
  const body = p.topByName.map((k, i) => [
    String(i + 1),
    k.name,
    fmt(k.ms, 1),
    `${fmt((100 * k.ms) / p.stepMs, 1)}%`,
    String(k.calls),
  ]);
  out.push(markdownTable(['#', 'kernel', 'ms', '% of step', 'calls'], body), '');
  out.push('Top 10 kernel calls by input shape:', '');
  const body2 = p.topByShape.map((k, i) => [
    String(i + 1),
    k.name,
    shapesText(k.inputShapes),
    fmt(k.ms, 1),
    String(k.calls),
  ]);
  out.push(markdownTable(['#', 'kernel', 'input shapes', 'ms', 'calls'], body2));
  return out.join('\n');
}
/** Input shapes of one kernel call for the profile table; a long list (the fused Adam's) is cut after 4. */
function shapesText(shapes) {
  const one = (s) => (s ? `[${s.join(',')}]` : '–');
  return shapes.length > 6
    ? `${shapes.slice(0, 4).map(one).join(' ')} … (${shapes.length} inputs)`
    : shapes.map(one).join(' ');
}
const profile = profileText();

const commit = gitCommit();
const meta = [
  `- command: \`node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\``,
  `- date: ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC; commit ${commit}`,
  `- machine: ${cpuModel()}, nproc ${nproc()}; load average (1/5/15 min) ${loadStart} at start, ${loadEnd} at end`,
  `- node ${process.version}; backend ${engineName}${nativeText}${torchName ? `; ${torchName}, torch threads ${torchThreads}` : ''}${results.confusion?.numpy?.engine ? `; ${results.confusion.numpy.engine}` : ''}`,
  `- wall time ${seconds.toFixed(0)} s${quick ? ' (--quick: fewer repetitions)' : ''}`,
].join('\n');

const notesText = notes.length ? notes.map((n, i) => `Note ${i + 1}: ${n}`).join('\n') : '';

console.log('');
console.log(table);
if (notesText) console.log(`\n${notesText}`);
if (profile) console.log(`\n${profile}`);
console.log(`\n${meta}`);

if (!args['no-record']) {
  // A cell that is a plain number (1,234.5 included) becomes a number; everything else stays as shown.
  const cell = (c) => {
    const t = String(c ?? '');
    return /^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$/.test(t) ? Number(t.replace(/,/g, '')) : t;
  };
  const round2 = (v) => Math.round(v * 100) / 100;
  const record = {
    schema: 1,
    name: quick ? 'bench-quick' : 'bench',
    command: `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    date: started.toISOString(),
    commit,
    backend: `${engineName}${nativeInfo?.loaded ? '-native' : ''}`,
    machine: { cpus: nproc(), model: cpuModel(), shared: true },
    load: { start: loadStartValues.map(round2), end: loadEndValues.map(round2) },
    wallSeconds: Math.round(seconds),
    figures: { tables: [{ caption: null, columns: header, rows: rows.map((r) => r.map(cell)) }], results },
    notes: [meta, notesText].filter(Boolean).join('\n'),
  };
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const base = recordFileName(record);
  let file = join(dir, `${base}.json`);
  for (let k = 2; existsSync(file); k++) file = join(dir, `${base}-${k}.json`);
  const text = `${JSON.stringify(record, null, 2)}\n`;
  checkRecord(text, relative(ROOT, file));
  writeFileSync(file, text);
  log(`record written to ${relative(ROOT, file)}`);
}
const failed = Object.values(results).some((r) => r?.error && !String(r.error).startsWith('skipped'));
process.exitCode = failed ? 1 : 0;
