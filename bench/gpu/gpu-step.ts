// One-shot GPU benchmark of road on tfjs-backend-webgpu (Dawn) against PyTorch CUDA, for a GPU machine run with no
// Node.js and little time. Bundled into .gpu/gpu-step.mjs by bench/gpu/prepare.sh; see bench/gpu/README.md.
//
//   .gpu/node .gpu/gpu-step.mjs [--tiny] [--software] [--skip-torch] [--budget 420] [--parts torch,init,...] [--cap-scale 1]
//
// Parts, each with its own time cap (a part past its cap stops between repetitions and reports what it has):
//   1. correctness of road's WebGPU kernels: tiny cases against the cpu backend, the PERF-NOTES shapes against
//      the shipped kernel;
//   2. per-kernel GFLOP/s, shipped vs ours (+ the forward conv and Conv2DBackpropInput for context);
//   3. the PyTorch CUDA reference steps (bench/reference/*.py --device cuda), run before our steps;
//   4. the ROAD training step of road-lite (4+4×64×128, the trainer's default config) and vgg16-fcn (1+1×320×640) on
//      webgpu with the shipped kernels and with ours (same process, same parts, kernels swapped in place);
// then one table with the ratios against issue 6's targets (≥ 0.1× PyTorch CUDA milestone, ≥ 0.25× goal).
// `--tiny` shrinks every shape (to test the script on software WebGPU); `--software` uses Dawn's OpenGL backend on
// Mesa llvmpipe. The result is also written as JSON to $OUT/gpu-step.json when OUT is set.
//
// tfjs-backend-webgpu cannot read synchronously in Node (its readSync draws through OffscreenCanvas), and the
// trainer's step reads its losses with dataSync. Here dataSync on webgpu returns zeros at once and starts an
// asynchronous read of the same tensor; the step's real losses are awaited after the step (and the GPU queue
// drained) and checked for finiteness. The kernels run are exactly the trainer's.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countFlops } from '@road/backbone';
import {
  describeAdapter,
  initBackend,
  registerWebgpuKernels,
  shippedWebgpuKernel,
  unregisterWebgpuKernels,
} from '@road/backend';
import { conv2dBackpropFilterWebgpu, conv2dBackpropInputWebgpu } from '@road/backend/testing';
import {
  buildNet,
  buildParts,
  createTrainStep,
  DEMO_RECIPE,
  demoConfig,
  loadConfig,
  netSlots,
  trainStream,
  writeCheckpoint,
} from '@road/trainer';
import * as tf from '@tensorflow/tfjs-core';

// ------------------------------------------------------------------------------------------------------------
// Arguments, clock, results

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? Number(argv[i + 1]) : fallback;
};
const TINY = flag('tiny');
const SOFTWARE = flag('software');
const SKIP_TORCH = flag('skip-torch');
const BUDGET_S = option('budget', 420);
const CAP_SCALE = option('cap-scale', 1);
const PARTS = argv.includes('--parts') ? new Set(argv[argv.indexOf('--parts') + 1].split(',')) : null;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const T0 = Date.now();
const elapsed = () => (Date.now() - T0) / 1000;
const log = (line: string) => process.stderr.write(`[gpu-step ${elapsed().toFixed(0).padStart(3)} s] ${line}\n`);

interface PartResult {
  status: 'ok' | 'partial' | 'error' | 'skipped';
  seconds: number;
  note?: string;
}
const results: {
  device: string;
  tiny: boolean;
  parts: Record<string, PartResult>;
  correctness: { case: string; vs: string; relErr: number; ok: boolean }[];
  kernels: { op: string; shape: string; variant: string; ms: number; gflops: number }[];
  steps: Record<
    string,
    { ms?: number; imagesPerSec?: number; gflops?: number; losses?: number[]; tensorsLeaked?: number; error?: string }
  >;
  torch: Record<string, { ms?: number; engine?: string; tf32?: unknown; error?: string }>;
  profiles: Record<
    string,
    { kernelMs?: number; kernels?: number; top?: { name: string; ms: number; calls: number }[]; error?: string }
  >;
} = { device: '', tiny: TINY, parts: {}, correctness: [], kernels: [], steps: {}, torch: {}, profiles: {} };

/** Runs one part with a cap; `deadline` is the time (ms since epoch) its loops must stop at. */
async function part(name: string, capS: number, f: (deadline: number) => Promise<string | undefined>): Promise<void> {
  if (PARTS != null && name !== 'init' && !PARTS.has(name)) {
    results.parts[name] = { status: 'skipped', seconds: 0, note: '--parts' };
    return;
  }
  capS *= CAP_SCALE;
  const left = BUDGET_S - elapsed();
  if (left < 5) {
    results.parts[name] = { status: 'skipped', seconds: 0, note: 'global budget spent' };
    log(`${name}: skipped (budget spent)`);
    return;
  }
  const cap = Math.min(capS, left);
  const start = Date.now();
  log(`${name}: start (cap ${cap.toFixed(0)} s)`);
  try {
    const note = await f(start + cap * 1000);
    const seconds = (Date.now() - start) / 1000;
    results.parts[name] = { status: seconds > cap ? 'partial' : 'ok', seconds, ...(note ? { note } : {}) };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    results.parts[name] = { status: 'error', seconds: (Date.now() - start) / 1000, note: msg };
    log(`${name}: ERROR ${msg}`);
  }
  log(`${name}: ${results.parts[name].status} in ${results.parts[name].seconds.toFixed(1)} s`);
}

// ------------------------------------------------------------------------------------------------------------
// WebGPU helpers

interface WebgpuBackend {
  device: { queue: { onSubmittedWorkDone(): Promise<void> } };
  commandEncoder: unknown;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
const webgpu = () => tf.backend() as unknown as WebgpuBackend;

/** Waits until the GPU has finished everything tfjs submitted so far. */
async function gpuSync(): Promise<void> {
  const b = webgpu();
  b.endComputePassEncoder();
  if (b.commandEncoder != null) b.submitQueue();
  await b.device.queue.onSubmittedWorkDone();
}

// dataSync on webgpu: zeros now, the real values later (see the header).
const pendingReads: Promise<unknown>[] = [];
const lastReads: number[] = [];
const originalDataSync = tf.Tensor.prototype.dataSync;
tf.Tensor.prototype.dataSync = function dataSyncDeferred(this: tf.Tensor) {
  if (tf.getBackend() !== 'webgpu') return originalDataSync.call(this);
  // A kept clone shares the data and holds a reference: the step disposes the original right after reading it.
  const copy = tf.keep(this.clone());
  const p = copy
    .data()
    .then((v) => {
      if (copy.size === 1) lastReads.push(Number(v[0]));
    })
    .finally(() => copy.dispose());
  pendingReads.push(p);
  return tf.util.getTypedArrayFromDType(this.dtype as 'float32', this.size) as never;
} as typeof originalDataSync;
async function drainReads(): Promise<number[]> {
  await Promise.all(pendingReads.splice(0));
  return lastReads.splice(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return Number.isFinite(d) && a.length === b.length ? d / (s || 1) : Number.POSITIVE_INFINITY;
}

type ConvShape = {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
};
const shapeName = (c: ConvShape) => `${c.n}×${c.h}×${c.w} ${c.ci}→${c.co} ${c.k}×${c.k}/${c.s}`;

/** Inputs of Conv2DBackpropFilter for `c` (random, on the current backend). */
function filterInputs(c: ConvShape) {
  const fShape: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], fShape, c.s, 1, c.pad);
  const x = tf.randomUniform([c.n, c.h, c.w, c.ci], -1, 1, 'float32', 1);
  const dy = tf.randomUniform(info.outShape, -1, 1, 'float32', 2);
  const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape, dilations: 1 };
  const flops = 2 * c.k * c.k * c.ci * c.co * info.outShape[0] * info.outShape[1] * info.outShape[2];
  return { x, dy, attrs, flops, outShape: info.outShape };
}

/** Runs a kernel function (not the registered one) and wraps its output as a tensor. */
function runFunc(
  kernel: tf.KernelConfig,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown>,
): tf.Tensor {
  const info = kernel.kernelFunc({
    inputs: inputs as never,
    backend: tf.backend(),
    attrs: attrs as never,
  }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

// ------------------------------------------------------------------------------------------------------------
// 1. Correctness

async function correctness(deadline: number): Promise<string> {
  const shipped = shippedWebgpuKernel('Conv2DBackpropFilter');
  if (shipped == null) throw new Error('no shipped Conv2DBackpropFilter kernel on webgpu');
  const small: ConvShape[] = [];
  for (const n of [1, 4])
    for (const k of [1, 3])
      for (const s of [1, 2])
        for (const pad of ['same', 'valid'] as const) small.push({ n, h: 9, w: 7, ci: 5, co: 6, k, s, pad });
  small.push({ n: 4, h: 16, w: 16, ci: 9, co: 70, k: 3, s: 1, pad: 'same' });
  let bad = 0;
  for (const c of small) {
    if (Date.now() > deadline) break;
    const { x, dy, attrs } = filterInputs(c);
    const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
    const got = await ours.data();
    const xv = await x.data();
    const dyv = await dy.data();
    await tf.setBackend('cpu');
    const ref = tf.tidy(() =>
      (
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor(xv, x.shape), dy: tf.tensor(dyv, dy.shape) },
            attrs as never,
          ) as tf.Tensor
      ).dataSync(),
    );
    await tf.setBackend('webgpu');
    const e = relErr(got, ref);
    results.correctness.push({ case: `${shapeName(c)} ${c.pad}`, vs: 'cpu', relErr: e, ok: e < 1e-4 });
    if (!(e < 1e-4)) bad++;
    tf.dispose([x, dy, ours]);
    // Conv2DBackpropInput (ours, opt-in) on the same geometry
    const w = tf.randomUniform([c.k, c.k, c.ci, c.co], -1, 1, 'float32', 4);
    const dxAttrs = { ...attrs, inputShape: [c.n, c.h, c.w, c.ci] };
    const dxIn = filterInputs(c).dy;
    const dx = runFunc(dxOurs, { dy: dxIn, filter: w }, dxAttrs);
    const dxGot = await dx.data();
    const wv = await w.data();
    const dyv2 = await dxIn.data();
    await tf.setBackend('cpu');
    const dxRef = tf.tidy(() =>
      (
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy: tf.tensor(dyv2, dxIn.shape), filter: tf.tensor(wv, w.shape) },
            dxAttrs as never,
          ) as tf.Tensor
      ).dataSync(),
    );
    await tf.setBackend('webgpu');
    const e2 = relErr(dxGot, dxRef);
    results.correctness.push({ case: `dx ${shapeName(c)} ${c.pad}`, vs: 'cpu', relErr: e2, ok: e2 < 1e-4 });
    if (!(e2 < 1e-4)) bad++;
    tf.dispose([w, dxIn, dx]);
  }
  for (const c of kernelShapes()) {
    if (Date.now() > deadline) break;
    const { x, dy, attrs } = filterInputs(c);
    const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
    const theirs = runFunc(shipped, { x, dy }, attrs);
    const e = relErr(await ours.data(), await theirs.data());
    results.correctness.push({ case: shapeName(c), vs: 'shipped webgpu', relErr: e, ok: e < 1e-4 });
    if (!(e < 1e-4)) bad++;
    tf.dispose([x, dy, ours, theirs]);
  }
  return `${results.correctness.length - bad}/${results.correctness.length} within 1e-4`;
}

// ------------------------------------------------------------------------------------------------------------
// 2. Kernel timings

function kernelShapes(): ConvShape[] {
  if (TINY) return [{ n: 2, h: 16, w: 16, ci: 8, co: 16, k: 3, s: 1, pad: 'same' }];
  return [
    { n: 16, h: 128, w: 128, ci: 64, co: 128, k: 3, s: 1, pad: 'same' },
    { n: 16, h: 64, w: 64, ci: 256, co: 256, k: 3, s: 1, pad: 'same' },
    // road-lite's block2_2 (8 images of 64×128 at stride 4) and vgg16-fcn's block1_conv2 (2 images of 320×640)
    { n: 8, h: 16, w: 32, ci: 32, co: 32, k: 3, s: 1, pad: 'same' },
    { n: 2, h: 320, w: 640, ci: 64, co: 64, k: 3, s: 1, pad: 'same' },
  ];
}

/** Median ms of `run()` (which returns a tensor to dispose), timed in batches with a GPU sync after each. */
async function timeIt(run: () => tf.Tensor, deadline: number, maxReps = TINY ? 3 : 20): Promise<number> {
  tf.dispose(run()); // compile + warm
  await gpuSync();
  tf.dispose(run());
  await gpuSync();
  const ms: number[] = [];
  const perBatch = 3;
  while (ms.length === 0 || (ms.length < maxReps / perBatch && Date.now() < deadline)) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) tf.dispose(run());
    await gpuSync();
    ms.push((performance.now() - t0) / perBatch);
  }
  return median(ms);
}

const dxOurs: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'webgpu',
  kernelFunc: conv2dBackpropInputWebgpu(),
};

async function kernelTimings(deadline: number): Promise<string> {
  const shipped = shippedWebgpuKernel('Conv2DBackpropFilter');
  if (shipped == null) throw new Error('no shipped Conv2DBackpropFilter kernel');
  const shapes = kernelShapes();
  for (const [i, c] of shapes.entries()) {
    const partDeadline = Math.min(deadline, Date.now() + (deadline - Date.now()) / (shapes.length - i));
    const { x, dy, attrs, flops } = filterInputs(c);
    const w = tf.randomUniform([c.k, c.k, c.ci, c.co], -1, 1, 'float32', 3);
    const record = (op: string, variant: string, ms: number) => {
      results.kernels.push({ op, shape: shapeName(c), variant, ms, gflops: flops / (ms * 1e6) });
      log(`  ${op} ${shapeName(c)} ${variant}: ${ms.toFixed(2)} ms, ${(flops / (ms * 1e6)).toFixed(0)} GFLOP/s`);
    };
    const share = (partDeadline - Date.now()) / 4;
    record(
      'Conv2DBackpropFilter',
      'ours',
      await timeIt(
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor,
        Date.now() + share,
      ),
    );
    record(
      'Conv2DBackpropFilter',
      'shipped',
      await timeIt(() => runFunc(shipped, { x, dy }, attrs), Date.now() + share),
    );
    if (i < 2) {
      // Split-K tuning for the next run: fewer / more workgroups than the default 1,024.
      for (const targetWorkgroups of [264, 4096]) {
        const variant = {
          kernelName: 'Conv2DBackpropFilter',
          backendName: 'webgpu',
          kernelFunc: conv2dBackpropFilterWebgpu(undefined, { targetWorkgroups }),
        };
        record(
          'Conv2DBackpropFilter',
          `ours S≈${targetWorkgroups} wg`,
          await timeIt(() => runFunc(variant, { x, dy }, attrs), Date.now() + share / 4),
        );
      }
    }
    record(
      'Conv2D',
      'shipped',
      await timeIt(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad), Date.now() + share),
    );
    const dxAttrs = { ...attrs, inputShape: [c.n, c.h, c.w, c.ci] };
    const dxShipped = shippedWebgpuKernel('Conv2DBackpropInput');
    if (dxShipped == null) throw new Error('no shipped Conv2DBackpropInput kernel');
    record(
      'Conv2DBackpropInput',
      'shipped',
      await timeIt(() => runFunc(dxShipped, { dy, filter: w }, dxAttrs), Date.now() + share / 2),
    );
    record(
      'Conv2DBackpropInput',
      'ours',
      await timeIt(() => runFunc(dxOurs, { dy, filter: w }, dxAttrs), Date.now() + share / 2),
    );
    tf.dispose([x, dy, w]);
  }
  return undefined as unknown as string;
}

// ------------------------------------------------------------------------------------------------------------
// 3. PyTorch CUDA reference

function torchStep(net: 'road-lite' | 'vgg16-fcn', capS: number, tf32: 'default' | 'off' = 'default'): void {
  const script = join(ROOT, 'bench', 'reference', net === 'road-lite' ? 'road_step.py' : 'vgg16_fcn_step.py');
  const python = process.env.PYTHON ?? 'python3';
  const device = process.env.TORCH_DEVICE ?? 'cuda';
  const key = tf32 === 'off' ? `${net} (strict fp32)` : net;
  const args = [script, '--device', device, '--warmup', '5', '--reps', TINY ? '3' : '20'];
  if (tf32 === 'off' && device.startsWith('cuda')) args.push('--tf32', 'off');
  if (TINY && net === 'vgg16-fcn')
    args.push('--height', '64', '--width', '128', '--full-height', '64', '--full-width', '128');
  if (TINY && net === 'road-lite') args.push('--source-batch', '1', '--target-batch', '1');
  log(`  ${python} ${args.join(' ')}`);
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: capS * 1000, maxBuffer: 16 * 1024 * 1024 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(last);
    results.torch[key] = { ms: j.medianMs, engine: j.engine, tf32: j.tf32 };
    log(`  PyTorch ${key}: ${j.medianMs.toFixed(2)} ms (${j.engine})`);
  } catch {
    const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').slice(-2).join(' | ');
    results.torch[key] = { error: `exit ${r.status}: ${why}`.slice(0, 300) };
    log(`  PyTorch ${key} failed: ${results.torch[key].error}`);
  }
}

// ------------------------------------------------------------------------------------------------------------
// 4. ROAD steps

async function roadStep(net: 'road-lite' | 'vgg16-fcn', deadline: number): Promise<string> {
  const config =
    net === 'road-lite'
      ? demoConfig('road', false, 1)
      : (() => {
          const c = loadConfig('road', [
            ...DEMO_RECIPE.full.train,
            'seed=1',
            'net.name=vgg16-fcn',
            'batch.source=1',
            'batch.target=1',
            'crop=null',
          ]);
          const big = TINY ? { width: 128, height: 64 } : { width: 640, height: 320 };
          c.source = { ...c.source, options: { ...(c.source.options ?? {}), ...big } };
          c.target = { ...c.target, options: { ...(c.target.options ?? {}), ...big } };
          return c;
        })();
  if (TINY && net === 'road-lite') {
    config.batch = { ...config.batch, source: 1, target: 1 };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'road-gpu-'));
  let parts: ReturnType<typeof buildParts>;
  try {
    const teacherNet = buildNet({ name: config.net.name, attention: 'none' }, 4, config.seed);
    const ck = await writeCheckpoint(
      tmp,
      'teacher',
      {
        step: 0,
        net: { name: config.net.name, attention: 'none', numClasses: 4, inputChannels: 3 },
        state: { bench: 'fresh weights' },
      },
      netSlots(teacherNet),
    );
    teacherNet.dispose();
    parts = buildParts(config, 19, { teacherCheckpoint: ck });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const step = createTrainStep(config, parts);
  const src = trainStream(config, config.source, 'source', config.batch.source);
  const tgt = trainStream(config, config.target, 'target', config.batch.target);
  const batches: Parameters<typeof step>[0][] = [];
  for (let i = 0; i < 2; i++) {
    const s = await src.next();
    const t = await tgt.next();
    t.labels?.dispose();
    batches.push({
      source: { images: s.images, labels: s.labels, crops: s.crops },
      target: { images: t.images, crops: t.crops },
    } as never);
  }
  await src.close();
  await tgt.close();
  const [ns, H, W] = batches[0].source.images.shape;
  const nt = batches[0].target!.images.shape[0];
  const feat = parts.net.backbone.computeOutputShape([ns + nt, H, W, 3]) as number[];
  const flops =
    3 *
      (countFlops(parts.net.backbone, [ns + nt, H, W, 3]).total +
        countFlops(parts.net.head, [ns, feat[1], feat[2], feat[3]]).total +
        (parts.spatialAdaptation
          ? countFlops((parts.spatialAdaptation.classifiers[0] as unknown as { model: never }).model, [
              1,
              1,
              1,
              feat[3],
            ]).total *
            (ns + nt) *
            feat[1] *
            feat[2]
          : 0)) +
    (parts.teacherNet ? countFlops(parts.teacherNet.backbone, [nt, H, W, 3]).total : 0);
  log(`  ${net}: source ${ns}×${H}×${W}, target ${nt}; ${(flops / 1e9).toFixed(2)} GFLOP per step`);

  let k = 0;
  const runOne = async () => {
    const b = batches[k % 2];
    k++;
    const t0 = performance.now();
    const r = await step(b, k); // reads its losses with `await t.data()` (no dataSync since the step is async)
    await gpuSync();
    const losses = [...(await drainReads()), r.seg, r.dst, r.spt, r.total];
    return { ms: performance.now() - t0, losses };
  };
  const variants: Array<[string, () => void]> = [
    ['ours', () => registerWebgpuKernels()],
    ['ours+dx', () => registerWebgpuKernels({ backpropInput: true })],
    ['shipped', () => unregisterWebgpuKernels()],
  ];
  const half = (deadline - Date.now()) * 0.28;
  for (const [variant, use] of variants) {
    const key = `${net} webgpu ${variant}`;
    const vDeadline = Date.now() + half;
    try {
      use();
      const first = await runOne();
      if (!first.losses.every(Number.isFinite)) throw new Error(`non-finite losses ${first.losses.join(', ')}`);
      const tensors = tf.memory().numTensors;
      const warm = TINY ? 0 : 2;
      for (let i = 0; i < warm && Date.now() < vDeadline; i++) await runOne();
      const ms: number[] = [];
      let losses = first.losses;
      const reps = TINY ? 2 : net === 'road-lite' ? 10 : 5;
      while (ms.length < reps && Date.now() < vDeadline) {
        const r = await runOne();
        ms.push(r.ms);
        losses = r.losses;
      }
      const m = median(ms);
      results.steps[key] = {
        ms: m,
        imagesPerSec: ((ns + nt) * 1000) / m,
        gflops: flops / (m * 1e6),
        losses,
        tensorsLeaked: tf.memory().numTensors - tensors,
      };
      log(
        `  ${key}: first ${first.ms.toFixed(0)} ms, median ${m.toFixed(1)} ms over ${ms.length}; losses ${losses.map((v) => v.toFixed(3)).join(' ')}`,
      );
    } catch (e) {
      results.steps[key] = { error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
      log(
        `  ${key}: ERROR ${e instanceof Error ? e.stack?.split('\n').slice(0, 6).join(' | ') : results.steps[key].error}`,
      );
    }
  }
  registerWebgpuKernels();
  if (Date.now() < deadline - 2000) {
    // One profiled step with our kernels: GPU time per kernel (timestamp queries; 0 when the adapter has none).
    try {
      const info = await tf.profile(async () => {
        await runOne();
        return undefined as unknown as tf.Tensor;
      });
      const backendName = tf.getBackend();
      const byName = new Map<string, { ms: number; calls: number }>();
      let total = 0;
      for (const kern of info.kernels) {
        if (tf.getKernel(kern.name, backendName) == null) continue; // op-scope wrappers, counted in their kernels
        const ms = Number(kern.kernelTimeMs) || 0;
        total += ms;
        const e = byName.get(kern.name) ?? { ms: 0, calls: 0 };
        e.ms += ms;
        e.calls++;
        byName.set(kern.name, e);
      }
      // Without timestamp queries every time is 0: then the most frequent kernels.
      const top = [...byName]
        .sort((a, b) => (total > 0 ? b[1].ms - a[1].ms : b[1].calls - a[1].calls))
        .slice(0, 8)
        .map(([name, e]) => ({ name, ...e }));
      results.profiles[net] = { kernelMs: total, kernels: info.kernels.length, top };
      log(
        `  ${net} profile: ${total.toFixed(1)} ms in ${info.kernels.length} kernels; top ${top.map((t) => `${t.name} ${t.ms.toFixed(1)}`).join(', ')}`,
      );
    } catch (e) {
      results.profiles[net] = { error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
    }
  }
  for (const b of batches) tf.dispose([b.source.images, b.source.labels, b.target!.images] as tf.Tensor[]);
  parts.dispose();
  return undefined as unknown as string;
}

// ------------------------------------------------------------------------------------------------------------
// Table

function table(): string {
  const lines: string[] = [];
  const f = (v: number | undefined, d = 1) =>
    v == null || !Number.isFinite(v) ? '—' : v.toFixed(v < 10 && d === 0 ? 1 : d);
  lines.push(
    `road GPU benchmark — ${results.device}${TINY ? ' (TINY shapes: not a measurement)' : ''}; ${elapsed().toFixed(0)} s`,
  );
  lines.push('');
  lines.push(
    `parts: ${Object.entries(results.parts)
      .map(([k, v]) => `${k} ${v.status} ${v.seconds.toFixed(0)} s${v.note ? ` (${v.note})` : ''}`)
      .join('; ')}`,
  );
  const bad = results.correctness.filter((c) => !c.ok);
  lines.push(
    `correctness: ${results.correctness.length - bad.length}/${results.correctness.length} within 1e-4${bad.length ? ` — FAILED: ${bad.map((c) => `${c.case} vs ${c.vs} ${c.relErr.toExponential(1)}`).join('; ')}` : ''}`,
  );
  lines.push('');
  lines.push('| kernel | shape | shipped GFLOP/s | ours GFLOP/s | speed-up |');
  lines.push('|---|---|---|---|---|');
  const shapes = [...new Set(results.kernels.map((k) => k.shape))];
  for (const s of shapes) {
    for (const op of ['Conv2DBackpropFilter', 'Conv2D', 'Conv2DBackpropInput']) {
      const sh = results.kernels.find((k) => k.shape === s && k.op === op && k.variant === 'shipped');
      const ou = results.kernels.find((k) => k.shape === s && k.op === op && k.variant === 'ours');
      if (!sh && !ou) continue;
      lines.push(
        `| ${op} | ${s} | ${f(sh?.gflops, 0)} | ${f(ou?.gflops, 0)} | ${sh && ou ? `${(sh.ms / ou.ms).toFixed(2)}×` : ''} |`,
      );
      for (const v of results.kernels.filter((k) => k.shape === s && k.op === op && k.variant.startsWith('ours '))) {
        lines.push(
          `| ${op} (${v.variant.slice(5)}) | ${s} | | ${f(v.gflops, 0)} | ${sh ? `${(sh.ms / v.ms).toFixed(2)}×` : ''} |`,
        );
      }
    }
  }
  lines.push('');
  lines.push(
    '| ROAD step | PyTorch ms | webgpu shipped ms | webgpu ours ms | ours+dx ms | best GFLOP/s | best / PyTorch speed | milestone ≥ 0.1× | goal ≥ 0.25× |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const net of ['road-lite', 'vgg16-fcn']) {
    const t = results.torch[net]?.ms;
    const sh = results.steps[`${net} webgpu shipped`];
    const ou = results.steps[`${net} webgpu ours`];
    const dx = results.steps[`${net} webgpu ours+dx`];
    const best = [ou, dx].filter((v) => v?.ms != null).sort((a, b) => (a?.ms ?? 0) - (b?.ms ?? 0))[0];
    const ratio = t != null && best?.ms != null ? t / best.ms : undefined;
    const shRatio = t != null && sh?.ms != null ? t / sh.ms : undefined;
    const cell = (v: (typeof results.steps)[string] | undefined) => (v?.error ? `error: ${v.error}` : f(v?.ms));
    lines.push(
      `| ${net} | ${f(t, 2)} | ${cell(sh)}${shRatio != null ? ` (${shRatio.toFixed(3)}×)` : ''} | ${cell(ou)} | ${cell(dx)} | ${f(best?.gflops, 0)} | ${ratio != null ? `${ratio.toFixed(3)}×` : '—'} | ${ratio == null ? '—' : ratio >= 0.1 ? 'met' : 'not met'} | ${ratio == null ? '—' : ratio >= 0.25 ? 'met' : 'not met'} |`,
    );
  }
  for (const [net, r] of Object.entries(results.torch)) {
    if (r.error) lines.push(`PyTorch ${net}: ${r.error}`);
    else lines.push(`PyTorch ${net}: ${f(r.ms, 2)} ms, ${r.engine}, tf32 ${JSON.stringify(r.tf32)}`);
  }
  for (const [net, p] of Object.entries(results.profiles)) {
    if (p.error) lines.push(`profile ${net}: ${p.error}`);
    else
      lines.push(
        `profile ${net} (ours, 1 step): ${p.kernelMs ? `${f(p.kernelMs)} ms GPU` : 'no GPU timestamps'} in ${p.kernels} kernel calls — ${(p.top ?? []).map((t) => `${t.name} ${t.ms.toFixed(1)} ms/${t.calls}`).join(', ')}`,
      );
  }
  for (const [k, s] of Object.entries(results.steps)) {
    if (s.tensorsLeaked != null && s.tensorsLeaked !== 0)
      lines.push(`LEAK: ${k} leaked ${s.tensorsLeaked} tensors over its reps`);
  }
  return lines.join('\n');
}

let printed = false;
function finish(code: number): never {
  if (!printed) {
    printed = true;
    const text = table();
    // The table comes last (the device tool returns the output's tail); the JSON goes to $OUT when set.
    let saved = false;
    if (process.env.OUT) {
      try {
        mkdirSync(process.env.OUT, { recursive: true });
        writeFileSync(join(process.env.OUT, 'gpu-step.json'), JSON.stringify(results, null, 2));
        writeFileSync(join(process.env.OUT, 'gpu-step.md'), `${text}\n`);
        saved = true;
      } catch {}
    }
    if (!saved) process.stdout.write(`\nGPU_STEP_JSON ${JSON.stringify(results)}\n`);
    process.stdout.write(`\n${text}\n${saved ? `(JSON: ${join(process.env.OUT ?? '', 'gpu-step.json')})\n` : ''}`);
  }
  process.exit(code);
}

// ------------------------------------------------------------------------------------------------------------
// Main

process.on('unhandledRejection', (e) => log(`unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`));
const watchdog = setTimeout(
  () => {
    log(`global budget of ${BUDGET_S + 20} s reached: printing what there is`);
    finish(2);
  },
  (BUDGET_S + 20) * 1000,
);
watchdog.unref();

// PyTorch first: its numbers survive a crash of the WebGPU parts.
if (SKIP_TORCH) {
  results.parts.torch = { status: 'skipped', seconds: 0, note: '--skip-torch' };
} else {
  await part('torch', TINY ? 240 : 120, async () => {
    torchStep('road-lite', TINY ? 120 : 40);
    torchStep('vgg16-fcn', TINY ? 120 : 50);
    // PyTorch's default uses TF32 in cuDNN convolutions; ours is float32 throughout: also the strict-float32 time.
    if (!TINY) torchStep('road-lite', 30, 'off');
    return undefined;
  });
}

await part('init', 30, async () => {
  await import('@tensorflow/tfjs-backend-cpu'); // the reference of the correctness part (a bare import would be tree-shaken)
  // allow_unsafe_apis exposes timestamp-query on Vulkan (GPU times in the profile); retried without it on failure.
  const flags = ['enable-dawn-features=allow_unsafe_apis'];
  let info: Awaited<ReturnType<typeof initBackend>>;
  try {
    info = await initBackend({ prefer: 'webgpu', webgpu: { software: SOFTWARE, flags } });
  } catch (e) {
    log(`  init with ${flags.join(' ')} failed (${(e as Error).message.split('\n')[0]}); retrying without`);
    info = await initBackend({ prefer: 'webgpu', webgpu: { software: SOFTWARE } });
  }
  const gpu = (
    globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<Parameters<typeof describeAdapter>[0] | null> } } }
  ).navigator?.gpu;
  const adapter = await gpu?.requestAdapter();
  results.device = `${info.name}: ${adapter ? describeAdapter(adapter) : 'adapter'}${SOFTWARE ? ' (software, Dawn OpenGL)' : ''}`;
  return `kernels replaced: ${info.kernels?.replaced.join(', ') || 'none'}`;
});
if (results.parts.init.status !== 'ok') finish(1);

await part('correctness', TINY ? 120 : 30, correctness);
await part('kernels', TINY ? 240 : 80, kernelTimings);
await part('road-lite', TINY ? 600 : 60, (d) => roadStep('road-lite', d));
await part('vgg16-fcn', TINY ? 600 : 100, (d) => roadStep('vgg16-fcn', d));
finish(results.correctness.every((c) => c.ok) ? 0 : 1);
