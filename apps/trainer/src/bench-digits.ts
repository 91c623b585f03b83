import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createSegmentationNet, DANN_DIGITS_FEATURES, DANN_DIGITS_INPUT } from '@road/backbone';
import { dannClassificationObjective, dannLambda, dannLearningRate, mlpDomainClassifier } from '@road/dann';
import { deriveSeed, digitsClassification, Rng } from '@road/datasets';
import { nanMean } from '@road/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { DANN_PAPER_DIGITS, summarize } from './bench-common.js';
import { loadConfig } from './config.js';
import { cacheDir } from './demo.js';
import { ensureEngine } from './engine.js';
import { EXIT, RoadError } from './errors.js';
import { cachedTeacher } from './pretrain.js';
import { createProgress } from './progress.js';
import { runTorchTwin } from './torch-twin.js';
import { progressOf, setLearningRate } from './train-step.js';
import { trainRun } from './trainer.js';

/** Width multiplier of the digits-seg net in the segmentation view (the teacher is built at the same width). */
const DIGITS_SEG_WIDTH = 0.5;
/** Layout/background seed of the segmentation view's selection set (training digits; training canvases use 0). */
const SELECTION_LAYOUT_SEED = 1000;

/** Digits classification recipe of the DANN paper (MNIST → MNIST-M, Ganin et al., JMLR 2016, §5.2.2 and §5.2.4). */
export const DIGITS_RECIPE = {
  full: {
    // Steps of one training run (each method): 1000 batches of 64 are 8 epochs of the 7,996 training digits. The
    // paper's step count is not given; 1000 keeps three seeds of both engines within about an hour on 2 cores.
    steps: 1000,
    batch: 64,
    // Segmentation view: 64×64 canvases, so 64×64 crops (the SynthCity default 64×128 pads half of every crop), and
    // no horizontal flip (a mirrored 2 is not a 2). The digits-seg net at half width (stride-2 logits: road-lite's
    // stride 8 is coarser than a stroke and stayed at the all-background 8.6% mIoU; half width costs about what
    // road-lite does). BN frozen at the neutral teacher's statistics, λ_dst 0.1, λ_spt 0.3: chosen on the selection
    // set (seeds 1–2, bench/results/*-digits-segmentation-selection.json). With batch statistics (net.bn=train) the
    // target images in the BN batch alone lifted source-only from 5.8 to 28.6 (seed 1, adversarial weight 1e-6), a
    // confound that makes source-only an unfair baseline; frozen statistics have none.
    // The loss weights apply only to the terms a preset has on (source-only stays source-only).
    segLambda: { dst: 0.1, spt: 0.3 },
    seg: [
      'net.name=digits-seg',
      `net.width=${DIGITS_SEG_WIDTH}`,
      'net.bn=frozen',
      'steps=1000',
      'batch.source=8',
      'batch.target=8',
      'optimizer.lr=0.004',
      'optimizer.lrSchedule=poly',
      'crop=[64,64]',
      'flip=false',
    ],
  },
  quick: {
    steps: 6,
    batch: 8,
    segLambda: { dst: 0.1, spt: 0.3 },
    seg: [
      'net.name=digits-seg',
      `net.width=${DIGITS_SEG_WIDTH}`,
      'net.bn=frozen',
      'steps=4',
      'batch.source=2',
      'batch.target=2',
      'optimizer.lr=0.002',
      'evalLimit=8',
      'crop=[64,64]',
      'flip=false',
    ],
  },
} as const;

/** The classification method names of the digits bench. */
export type DigitsMethod = 'source-only' | 'dann' | 'target-trained';
const METHODS: DigitsMethod[] = ['source-only', 'dann', 'target-trained'];

/** One split of the dumped digits: N × 28 × 28 × 3 uint8 images and N labels. */
export interface DigitsSplitData {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** The three splits the classification protocol uses, exactly as @road/datasets makes them. */
export type DigitsData = Record<'mnist-train' | 'mnist-m-train' | 'mnist-m-test', DigitsSplitData>;

const SIZE = DANN_DIGITS_INPUT;
const PIXELS = SIZE * SIZE * 3;

/**
 * Materialises the classification splits (MNIST train, MNIST-M train, MNIST-M test; dataset seed 0) and, when `dir` is
 * given, writes them there as raw uint8 files with a `manifest.json`, the input of bench/reference/dann_digits.py.
 */
export async function dumpDigits(backgrounds: string | undefined, dir?: string, limit?: number): Promise<DigitsData> {
  const specs: Array<[keyof DigitsData, 'mnist' | 'mnist-m', 'train' | 'test']> = [
    ['mnist-train', 'mnist', 'train'],
    ['mnist-m-train', 'mnist-m', 'train'],
    ['mnist-m-test', 'mnist-m', 'test'],
  ];
  const out = {} as DigitsData;
  const manifest: { splits: Record<string, { shape: number[]; images: string; labels: string }>; backgrounds: string } =
    { splits: {}, backgrounds: backgrounds ?? 'procedural' };
  for (const [key, domain, split] of specs) {
    const ds = digitsClassification({ domain, split, seed: 0, ...(backgrounds ? { backgrounds } : {}) });
    const n = limit ? Math.min(limit, ds.length) : ds.length;
    const images = new Uint8Array(n * PIXELS);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const smp = await ds.get(i);
      images.set(smp.image, i * PIXELS);
      labels[i] = smp.classId as number;
    }
    out[key] = { images, labels, n };
    if (dir) {
      writeFileSync(join(dir, `${key}.images.u8`), images);
      writeFileSync(join(dir, `${key}.labels.u8`), labels);
      manifest.splits[key] = { shape: [n, SIZE, SIZE, 3], images: `${key}.images.u8`, labels: `${key}.labels.u8` };
    }
  }
  if (dir) writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return out;
}

/** Per-channel mean pixel (0..255) over the MNIST and MNIST-M training images (the paper's mean subtraction). */
export function meanPixel(data: DigitsData): [number, number, number] {
  const sum = [0, 0, 0];
  let count = 0;
  for (const s of [data['mnist-train'], data['mnist-m-train']]) {
    for (let i = 0; i < s.images.length; i += 3) {
      sum[0] += s.images[i];
      sum[1] += s.images[i + 1];
      sum[2] += s.images[i + 2];
    }
    count += s.images.length / 3;
  }
  return [sum[0] / count, sum[1] / count, sum[2] / count];
}

/** (x − mean pixel) / 255 for the images at `idx`, as an NHWC tensor. */
function batchTensor(s: DigitsSplitData, idx: ArrayLike<number>, mean: readonly number[]): tf.Tensor4D {
  const x = new Float32Array(idx.length * PIXELS);
  for (let b = 0; b < idx.length; b++) {
    const o = idx[b] * PIXELS;
    for (let p = 0; p < PIXELS; p++) x[b * PIXELS + p] = (s.images[o + p] - mean[p % 3]) / 255;
  }
  return tf.tensor4d(x, [idx.length, SIZE, SIZE, 3]);
}

/** Epoch-wise shuffled batches without replacement (a new permutation every epoch). */
class EpochSampler {
  private order: number[];
  private pos = 0;
  constructor(
    private readonly n: number,
    private readonly batch: number,
    private readonly rng: Rng,
  ) {
    if (batch > n) throw new RoadError(`digits: batch ${batch} is larger than the split (${n} images)`, EXIT.badInput);
    this.order = rng.permutation(n);
  }
  next(): number[] {
    if (this.pos + this.batch > this.n) {
      this.order = this.rng.permutation(this.n);
      this.pos = 0;
    }
    const idx = this.order.slice(this.pos, this.pos + this.batch);
    this.pos += this.batch;
    return idx;
  }
}

/**
 * Trains the DANN paper's digits net (`dann-digits` of @road/backbone) with the paper's recipe and returns its MNIST-M
 * test accuracy: SGD momentum 0.9, μ_p = 0.01/(1+10p)^0.75, batch `batch` source images (MNIST; MNIST-M for
 * target-trained), DANN adds `batch` MNIST-M images and a domain head fc100 → ReLU → fc1 on the 768 features through
 * gradient reversal with λ_p = 2/(1+exp(−10p)) − 1 (BCE, source 0 / target 1, mean over both halves).
 */
export async function trainDigitsClassifier(o: {
  method: DigitsMethod;
  seed: number;
  steps: number;
  batch: number;
  data: DigitsData;
  mean: readonly number[];
  log: (l: string) => void;
  quiet?: boolean;
}): Promise<{ accuracy: number; seconds: number }> {
  const net = createSegmentationNet('dann-digits', { numClasses: 10, seed: o.seed });
  const optimizer = tf.train.momentum(0.01, 0.9);
  const domainClf =
    o.method === 'dann'
      ? mlpDomainClassifier({ inputDim: DANN_DIGITS_FEATURES, hidden: [100], dropout: 0, seed: o.seed * 31 })
      : null;
  const rng = new Rng(deriveSeed(o.seed, 'digits-batches', o.method));
  const labelled = o.method === 'target-trained' ? o.data['mnist-m-train'] : o.data['mnist-train'];
  const target = o.data['mnist-m-train'];
  const src = new EpochSampler(labelled.n, o.batch, rng);
  const tgt = domainClf ? new EpochSampler(target.n, o.batch, rng) : null;
  const vars = [...net.trainableVariables(), ...(domainClf ? domainClf.trainableWeights : [])];
  const progress = createProgress(`digits ${o.method}`, { log: o.log, quiet: o.quiet, every: 500 });
  progress.start(o.steps, 0);
  const t0 = Date.now();
  try {
    for (let step = 1; step <= o.steps; step++) {
      const p = progressOf(step, o.steps);
      setLearningRate(optimizer, dannLearningRate(p));
      const lambda = dannLambda(p);
      const si = src.next();
      const xs = batchTensor(labelled, si, o.mean);
      const ys = Int32Array.from(si, (i) => labelled.labels[i]);
      const xt = tgt ? batchTensor(target, tgt.next(), o.mean) : null;
      const kept: { cls?: tf.Scalar; dom?: tf.Scalar } = {};
      const loss = optimizer.minimize(
        () => {
          const t = dannClassificationObjective({
            net,
            source: xs,
            labels: ys,
            target: xt,
            domainClassifier: domainClf,
            lambda,
          });
          kept.cls = tf.keep(t.labelLoss);
          if (t.domainLoss) kept.dom = tf.keep(t.domainLoss);
          return t.loss;
        },
        true,
        vars,
      ) as tf.Scalar;
      tf.dispose([xs, ...(xt ? [xt] : [])]);
      if (step % 100 === 0 || step === o.steps) {
        // Asynchronous reads (webgpu in Node has no synchronous read); only every 100 steps.
        const terms = [kept.cls ?? loss, kept.dom ?? tf.scalar(0)];
        const read = tf.stack(terms);
        const [cls, dom] = await read.data();
        tf.dispose([read, ...terms]);
        if (!Number.isFinite(cls) || !Number.isFinite(dom)) {
          throw new RoadError(`digits ${o.method}: loss is not finite at step ${step}`, EXIT.nonFinite);
        }
        progress.update(step, {
          losses: { cls, ...(tgt ? { dom } : {}) },
          imagesPerSec: (1000 * step * o.batch * (tgt ? 2 : 1)) / Math.max(1, Date.now() - t0),
        });
      } else tf.dispose([kept.cls, kept.dom].filter(Boolean) as tf.Tensor[]);
      loss.dispose();
    }
  } finally {
    progress.stop();
  }
  const seconds = (Date.now() - t0) / 1000;
  const test = o.data['mnist-m-test'];
  let correct = 0;
  for (let b = 0; b < test.n; b += 500) {
    const idx = Array.from({ length: Math.min(500, test.n - b) }, (_, k) => b + k);
    const x = batchTensor(test, idx, o.mean);
    const pred = tf.tidy(() => tf.argMax(tf.reshape(net.logits(x, false), [idx.length, 10]), 1));
    const pv = await pred.data();
    for (let k = 0; k < idx.length; k++) if (pv[k] === test.labels[idx[k]]) correct++;
    tf.dispose([x, pred]);
  }
  net.dispose();
  optimizer.dispose();
  // tfjs 4.22's MomentumOptimizer.dispose() frees its accumulators and momentum scalar but not the −lr scalar `c`
  // that SGDOptimizer.setLearningRate keeps.
  (optimizer as unknown as { c?: tf.Tensor }).c?.dispose();
  domainClf?.dispose?.();
  return { accuracy: correct / Math.max(1, test.n), seconds };
}

/** What bench/reference/dann_digits.py prints. */
interface TorchDigits {
  engine: string;
  threads: number;
  accuracy: Record<DigitsMethod, number[]>;
  seconds: Record<DigitsMethod, number[]>;
  wallSeconds: number;
}

/** Runs the PyTorch twin on the dumped data; an error object (with the reason) when it cannot run. */
function runDigitsTwin(
  dataDir: string,
  seeds: number[],
  steps: number,
  batch: number,
  log: (l: string) => void,
): TorchDigits | { error: string } {
  return runTorchTwin<TorchDigits>(
    'dann_digits.py',
    ['--data', dataDir, '--seeds', seeds.join(','), '--steps', String(steps), '--batch', String(batch)],
    log,
    (python, script) => `bench digits: PyTorch twin: ${python} ${script} (${seeds.length} seed(s), ${steps} steps)`,
  );
}

/** Result of {@link benchDigits}. */
export interface DigitsBench {
  classification: Record<DigitsMethod, number[]>;
  /** Our training seconds per method and seed (without data generation and evaluation). */
  classificationSeconds: Record<DigitsMethod, number[]>;
  /** The PyTorch twin's results on the same images and seeds, or why it did not run. */
  torch: TorchDigits | { error: string } | null;
  segmentation: Record<string, number[]>;
  /** Mean IoU over the ten digit classes (background left out), per run and seed: 0 for an all-background net. */
  segmentationDigitIou: Record<string, number[]>;
  /** Background IoU per run and seed (≈ 0.89 for a net that predicts background everywhere). */
  segmentationBackgroundIou: Record<string, number[]>;
  /** The segmentation teachers' pixel accuracy on the neutral pool (last 20% of their steps), per seed. */
  segmentationTeacherAccuracy: number[];
  /** Where the segmentation view was evaluated. */
  segmentationSplit: 'test' | 'selection';
  markdown: string;
  seconds: number;
}

/**
 * `road bench digits`: the DANN paper protocol MNIST → MNIST-M. Classification with the paper's net and recipe
 * (source-only, DANN, target-trained accuracy on the MNIST-M test set), its PyTorch twin
 * (bench/reference/dann_digits.py) on the same dumped images and seeds, and the paper's .5225 / .7666 / .9596 side by
 * side; optionally the segmentation view (canvases of several digits, 11 classes): source-only / dst / spt / road mIoU
 * with the trainer's recipe.
 */
export async function benchDigits(o: {
  backgrounds?: string;
  seeds: number;
  quick?: boolean;
  backend?: string;
  outDir: string;
  log: (l: string) => void;
  quiet?: boolean;
  /** Classification steps per run (default: the recipe's). */
  steps?: number;
  /** Run the PyTorch twin (default true). */
  torch?: boolean;
  /** Run the segmentation view (default true). */
  segmentation?: boolean;
  /** Run the classification part (default true). */
  classification?: boolean;
  /**
   * Where the segmentation view is evaluated: `test` (reported: canvases of the 2,004 test digits) or `selection`
   * (for choosing a recipe: canvases of training digits with another layout seed, never the test digits).
   */
  segSplit?: 'test' | 'selection';
  /** `key=value` overrides applied to every segmentation run after the recipe (e.g. `net.bn=frozen`). */
  segSet?: string[];
}): Promise<DigitsBench> {
  const t0 = Date.now();
  const segSplit = o.segSplit ?? 'test';
  if (segSplit !== 'test' && segSplit !== 'selection')
    throw new RoadError(`bench digits: segmentation split must be test or selection, got ${segSplit}`, EXIT.badInput);
  const backend = o.backend ?? 'auto';
  const engine = await ensureEngine(backend, o.log);
  mkdirSync(o.outDir, { recursive: true });
  const recipe = o.quick ? DIGITS_RECIPE.quick : DIGITS_RECIPE.full;
  const steps = o.steps ?? recipe.steps;
  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  const classification: DigitsBench['classification'] = { 'source-only': [], dann: [], 'target-trained': [] };
  const classificationSeconds: DigitsBench['classificationSeconds'] = {
    'source-only': [],
    dann: [],
    'target-trained': [],
  };
  // 'in-domain': source-only trained and evaluated on MNIST canvases (the segmentation view's sanity check).
  const segmentation: Record<string, number[]> = { 'in-domain': [], 'source-only': [], dst: [], spt: [], road: [] };
  const segmentationDigitIou: Record<string, number[]> = Object.fromEntries(
    Object.keys(segmentation).map((k) => [k, [] as number[]]),
  );
  const segmentationBackgroundIou: Record<string, number[]> = Object.fromEntries(
    Object.keys(segmentation).map((k) => [k, [] as number[]]),
  );
  const bg = o.backgrounds ? { backgrounds: o.backgrounds } : {};
  const dataDir = join(o.outDir, 'digits-data');
  mkdirSync(dataDir, { recursive: true });
  const data = await dumpDigits(o.backgrounds, dataDir, o.quick ? 256 : undefined);
  const mean = meanPixel(data);
  o.log(
    `bench digits: dumped ${data['mnist-train'].n} / ${data['mnist-m-train'].n} / ${data['mnist-m-test'].n} images to ${dataDir}; mean pixel ${mean.map((v) => v.toFixed(2)).join(', ')}`,
  );
  const ourT0 = Date.now();
  for (const seed of o.classification === false ? [] : seeds) {
    for (const method of METHODS) {
      const r = await trainDigitsClassifier({
        method,
        seed,
        steps,
        batch: recipe.batch,
        data,
        mean,
        log: o.log,
        quiet: o.quiet,
      });
      classification[method].push(r.accuracy);
      classificationSeconds[method].push(r.seconds);
      o.log(
        `bench digits: seed ${seed} classification ${method}: MNIST-M accuracy ${r.accuracy.toFixed(4)} (${r.seconds.toFixed(0)} s)`,
      );
    }
  }
  const ourWall = (Date.now() - ourT0) / 1000;
  const torch =
    o.torch === false || o.classification === false ? null : runDigitsTwin(dataDir, seeds, steps, recipe.batch, o.log);
  if (torch && 'error' in torch) o.log(`bench digits: PyTorch twin did not run: ${torch.error}`);
  const segT0 = Date.now();
  const evalRef = (domain: string) =>
    segSplit === 'test'
      ? { kind: 'digits', split: 'test', options: { domain, ...bg } }
      : { kind: 'digits', split: 'train', options: { domain, seed: SELECTION_LAYOUT_SEED, ...bg } };
  const teacherPixelAccuracy: number[] = [];
  if (o.segmentation !== false) {
    for (const seed of seeds) {
      // The teacher plays ImageNet's part: supervised on the neutral look (coloured digits over procedural
      // textures), neither MNIST nor MNIST-M. A rotation-pretext teacher on MNIST-M (target look, non-semantic
      // features) made dst and road collapse to background everywhere.
      const teacher = await cachedTeacher(cacheDir(), {
        task: 'segmentation',
        dataset: { kind: 'digits', split: 'train', options: { domain: 'neutral', view: 'segmentation' } },
        net: 'digits-seg',
        width: DIGITS_SEG_WIDTH,
        steps: o.quick ? 4 : 1000,
        batch: o.quick ? 2 : 8,
        crop: o.quick ? 32 : 64,
        lr: 0.004,
        seed,
        backend,
        log: o.log,
        quiet: o.quiet,
      });
      if (teacher.accuracy !== null) teacherPixelAccuracy.push(teacher.accuracy);
      for (const row of Object.keys(segmentation)) {
        const inDomain = row === 'in-domain';
        const preset = inDomain ? 'source-only' : row;
        const tgt = inDomain ? 'mnist' : 'mnist-m';
        const on = loadConfig(preset).lambda;
        const config = loadConfig(preset, [
          ...recipe.seg,
          ...Object.entries(recipe.segLambda)
            .filter(([term]) => on[term as keyof typeof on] > 0)
            .map(([term, w]) => `lambda.${term}=${w}`),
          `seed=${seed}`,
          `source=${JSON.stringify({ kind: 'digits', split: 'train', options: { domain: 'mnist', ...bg } })}`,
          `target=${JSON.stringify({ kind: 'digits', split: 'train', options: { domain: tgt, ...bg } })}`,
          `val=${JSON.stringify(evalRef(tgt))}`,
          ...(o.quick ? [] : ['evalLimit=500']),
          ...(backend !== 'auto' ? [`backend=${backend}`] : []),
          ...(o.segSet ?? []),
        ]);
        const r = await trainRun(config, {
          outDir: join(o.outDir, `seg-seed-${seed}`, row),
          teacherCheckpoint: teacher.checkpoint,
          log: o.log,
          quiet: o.quiet,
          gridRows: 0,
        });
        segmentation[row].push(r.final?.miou ?? Number.NaN);
        const iou = r.final?.iou ?? [];
        segmentationDigitIou[row].push(
          nanMean(iou.slice(0, 10)), // classes absent from a tiny evaluation set have no IoU
        );
        segmentationBackgroundIou[row].push(iou[10] ?? Number.NaN);
        o.log(`bench digits: seed ${seed} segmentation ${row}: mIoU ${(r.final?.miou ?? Number.NaN).toFixed(4)}`);
      }
    }
  }
  const segWall = (Date.now() - segT0) / 1000;
  const pct = (v: number[]) => {
    if (v.length === 0) return '–';
    const s = summarize(v.map((x) => 100 * x));
    return v.length > 1
      ? `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`
      : s.mean.toFixed(1);
  };
  const meanOf = (v: number[]) => (v.length ? summarize(v).mean : Number.NaN);
  const tt = torch && !('error' in torch) ? torch : null;
  const paper = {
    'source-only': DANN_PAPER_DIGITS.sourceOnly,
    dann: DANN_PAPER_DIGITS.dann,
    'target-trained': DANN_PAPER_DIGITS.targetTrained,
  };
  const rows = METHODS.map((m) => {
    const d = tt ? 100 * (meanOf(classification[m]) - meanOf(tt.accuracy[m])) : Number.NaN;
    const check = tt ? `${d >= 0 ? '+' : ''}${d.toFixed(1)} ${Math.abs(d) <= 2 ? '✓' : '✗'}` : '–';
    return `| ${m === 'dann' ? 'DANN' : m} | ${pct(classification[m])} | ${tt ? pct(tt.accuracy[m]) : '–'} | ${check} | ${(100 * paper[m]).toFixed(1)} |`;
  });
  const gain = (a: Record<DigitsMethod, number[]>) => 100 * (meanOf(a.dann) - meanOf(a['source-only']));
  const ourGain = gain(classification);
  const gainRow = tt
    ? `| DANN gain over source-only | ${ourGain.toFixed(1)} | ${gain(tt.accuracy).toFixed(1)} | ${ourGain >= gain(tt.accuracy) - 2 ? '≥ twin − 2 ✓' : '< twin − 2 ✗'} | ${(100 * (paper.dann - paper['source-only'])).toFixed(1)} |`
    : `| DANN gain over source-only | ${ourGain.toFixed(1)} | – | – | ${(100 * (paper.dann - paper['source-only'])).toFixed(1)} |`;
  const sum = (x: Record<DigitsMethod, number[]>) =>
    Object.values(x)
      .flat()
      .reduce((a, b) => a + b, 0);
  const segMean = (row: string) => meanOf(segmentation[row] ?? []);
  const segCheck = (row: string) =>
    row === 'in-domain'
      ? segMean(row) >= 0.6
        ? '≥ 60 ✓'
        : '< 60 ✗'
      : row === 'source-only'
        ? ''
        : segMean(row) > segMean('source-only')
          ? '> source-only ✓'
          : '≤ source-only ✗';
  const markdown = [
    `# road bench digits${o.quick ? ' (quick)' : ''}`,
    '',
    `MNIST → MNIST-M (backgrounds: ${o.backgrounds ?? 'procedural colour textures, not photographs'}), the DANN paper's digits net (dann-digits) and recipe, ${steps} steps of batch ${recipe.batch} (+ ${recipe.batch} target for DANN), seeds ${seeds.join(', ')}, backend ${engine.name}. Both engines train on the same dumped images (${dataDir}).`,
    '',
    ...(o.classification !== false
      ? [
          '## Classification (MNIST-M test accuracy, %: mean ± sd (min–max) over seeds)',
          '',
          `| method | road (ours) | PyTorch twin${tt ? ` (${tt.engine}, ${tt.threads} threads)` : ''} | ours − twin (target ±2) | DANN paper (Table 2) |`,
          '|:---|---:|---:|---:|---:|',
          ...rows,
          gainRow,
          `| training wall time, all runs (s) | ${sum(classificationSeconds).toFixed(0)} (${ourWall.toFixed(0)} with evaluation) | ${tt ? `${sum(tt.seconds).toFixed(0)} (${tt.wallSeconds.toFixed(0)} with evaluation)` : '–'} | | |`,
          '',
        ]
      : []),
    ...(torch && 'error' in torch ? [`PyTorch twin did not run: ${torch.error}`, ''] : []),
    ...(o.segmentation !== false
      ? [
          `## Segmentation view (64×64 canvases of 2–4 digits, digits-seg net at width ${DIGITS_SEG_WIDTH}, mIoU % over 11 classes)`,
          '',
          segSplit === 'test'
            ? 'in-domain: trained and evaluated on MNIST canvases; the others: MNIST → MNIST-M, evaluated on canvases of the test digits.'
            : `SELECTION split (canvases of training digits, layout seed ${SELECTION_LAYOUT_SEED}; not for reporting). in-domain: MNIST canvases; the others: MNIST → MNIST-M.`,
          '',
          ...(o.segSet?.length ? [`Recipe overrides: ${o.segSet.map((x) => `\`${x}\``).join(', ')}.`, ''] : []),
          `Teacher and initialisation (ImageNet's part): digits-seg trained with labels on the neutral look (coloured digits over procedural textures, neither MNIST nor MNIST-M), ${o.quick ? 4 : 1000} steps; its pixel accuracy on that pool over the last 20% of steps: ${teacherPixelAccuracy.map((a) => (100 * a).toFixed(1)).join(', ') || '–'} %.`,
          '',
          'A net that predicts background everywhere gets about 8% mIoU here (its background IoU over 11 classes) and a digit IoU of 0: read the digit column before the mIoU checks.',
          '',
          '| run | mIoU % (mean ± sd (min–max)) | digit IoU % (mean over classes 0–9) | background IoU % | check |',
          '|:---|---:|---:|---:|:---|',
          ...Object.entries(segmentation).map(
            ([p, v]) =>
              `| ${p} | ${pct(v)} | ${pct(segmentationDigitIou[p])} | ${pct(segmentationBackgroundIou[p])} | ${segCheck(p)} |`,
          ),
          '',
          `Segmentation view wall time: ${segWall.toFixed(0)} s (teachers, training and evaluation).`,
        ]
      : []),
  ].join('\n');
  const seconds = (Date.now() - t0) / 1000;
  const result: DigitsBench = {
    classification,
    classificationSeconds,
    torch,
    segmentation,
    segmentationDigitIou,
    segmentationBackgroundIou,
    segmentationTeacherAccuracy: teacherPixelAccuracy,
    segmentationSplit: segSplit,
    markdown: `${markdown}\n\nWall time ${seconds.toFixed(0)} s (load average at the end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}).`,
    seconds,
  };
  writeFileSync(join(o.outDir, 'bench-digits.md'), `${result.markdown}\n`);
  writeFileSync(join(o.outDir, 'bench-digits.json'), JSON.stringify(result, null, 2));
  return result;
}
