import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dannLambda, domainAdversarialLoss, gradientReversal, mlpDomainClassifier } from '@road/dann';
import { createBatchIterator, type DatasetSpec } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { DANN_PAPER_DIGITS, summarize } from './bench-common.js';
import { loadConfig } from './config.js';
import { cacheDir } from './demo.js';
import { ensureEngine } from './engine.js';
import { EXIT, RoadError } from './errors.js';
import { buildNet } from './parts.js';
import { cachedTeacher } from './pretrain.js';
import { createProgress } from './progress.js';
import { segmentationCrossEntropy } from './seg-loss.js';
import { learningRateAt, progressOf, setLearningRate } from './train-step.js';
import { trainRun } from './trainer.js';

type ClsBatch = { images: tf.Tensor4D; classes?: tf.Tensor1D };
type ClsIterator = AsyncIterator<ClsBatch> & { close(): Promise<void> };

/** Digits classification recipe (DANN paper protocol: SGD momentum 0.9, μ_p = 0.01/(1+10p)^0.75, λ_p ramp γ = 10). */
export const DIGITS_RECIPE = {
  full: {
    steps: 5000,
    batch: 32,
    evalLimit: 0,
    // Segmentation view: 64×64 canvases, so 64×64 crops (the SynthCity default 64×128 pads half of every crop), and
    // no horizontal flip (a mirrored 2 is not a 2).
    seg: [
      'steps=3000',
      'batch.source=8',
      'batch.target=8',
      'optimizer.lr=0.002',
      'optimizer.lrSchedule=poly',
      'crop=[64,64]',
      'flip=false',
    ],
  },
  quick: {
    steps: 6,
    batch: 8,
    evalLimit: 64,
    seg: [
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

function clsSpec(
  domain: 'mnist' | 'mnist-m',
  split: 'train' | 'test',
  backgrounds: string | undefined,
  seed: number,
): DatasetSpec {
  return {
    kind: 'digits',
    split,
    seed,
    options: { domain, view: 'classification', ...(backgrounds ? { backgrounds } : {}) },
  };
}

/**
 * Trains one digits classifier: a road-lite net whose logits are averaged over positions (image-level class),
 * optionally with DANN (Ganin et al., JMLR 2016): an MLP domain classifier on the position-averaged features after
 * gradient reversal, BCE source = 0 / target = 1, λ_p = dannLambda(p), μ_p = dannLearningRate(p).
 * Returns the target test accuracy.
 */
async function trainDigitsClassifier(o: {
  method: 'source-only' | 'dann' | 'target-trained';
  seed: number;
  steps: number;
  batch: number;
  backgrounds?: string;
  evalLimit: number;
  log: (l: string) => void;
  quiet?: boolean;
}): Promise<number> {
  const net = buildNet({ name: 'road-lite', attention: 'none' }, 10, o.seed);
  const config = loadConfig('source-only', [
    'optimizer.name=sgd',
    'optimizer.lr=0.01',
    'optimizer.lrSchedule=dann',
    `steps=${o.steps}`,
  ]);
  const optimizer = tf.train.momentum(config.optimizer.lr, config.optimizer.momentum);
  const domainClf =
    o.method === 'dann'
      ? mlpDomainClassifier({ inputDim: net.featureChannels, hidden: [100], dropout: 0, seed: o.seed * 31 })
      : null;
  const labelled =
    o.method === 'target-trained'
      ? clsSpec('mnist-m', 'train', o.backgrounds, 0)
      : clsSpec('mnist', 'train', o.backgrounds, 0);
  const iterOpts = (s: number) => ({
    batchSize: o.batch,
    transform: {},
    forever: true,
    shuffle: true,
    seed: o.seed * 7919 + s,
    workers: 0,
    prefetch: 2,
  });
  const src = createBatchIterator(labelled, iterOpts(1)) as unknown as ClsIterator;
  const tgt =
    o.method === 'dann'
      ? (createBatchIterator(clsSpec('mnist-m', 'train', o.backgrounds, 0), iterOpts(2)) as unknown as ClsIterator)
      : null;
  const vars = [...net.trainableVariables(), ...(domainClf ? domainClf.trainableWeights : [])];
  const progress = createProgress(`digits ${o.method}`, { log: o.log, quiet: o.quiet, every: 100 });
  progress.start(o.steps, 0);
  const t0 = Date.now();
  try {
    for (let step = 1; step <= o.steps; step++) {
      const p = progressOf(step, o.steps);
      setLearningRate(optimizer, learningRateAt(config, p));
      const sb = (await src.next()).value as ClsBatch;
      const tb = tgt ? ((await tgt.next()).value as ClsBatch) : null;
      if (!sb.classes) throw new RoadError('digits classification batches carry no classes', EXIT.badInput);
      const lambda = dannLambda(p);
      const kept: { cls?: tf.Scalar; dom?: tf.Scalar } = {};
      const loss = optimizer.minimize(
        () => {
          const n = sb.images.shape[0];
          const x = tb ? (tf.concat([sb.images, tb.images], 0) as tf.Tensor4D) : sb.images;
          const f = net.features(x, true);
          const logits = tf.mean(net.logitsFromFeatures(f, true), [1, 2], true) as tf.Tensor4D;
          const ls = tb ? (tf.slice(logits, [0, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D) : logits;
          const c = segmentationCrossEntropy(ls, tf.reshape(sb.classes as tf.Tensor1D, [n, 1, 1]) as tf.Tensor3D);
          kept.cls = tf.keep(c);
          if (!tb || !domainClf) return c;
          const pooled = tf.mean(f, [1, 2]);
          const rev = gradientReversal(pooled, lambda);
          const d = domainClf.apply(rev, { training: true });
          const r = domainAdversarialLoss(tf.slice(d, [0, 0], [n, -1]), tf.slice(d, [n, 0], [-1, -1]), {
            readAccuracy: false,
          });
          kept.dom = tf.keep(r.loss);
          return tf.add(c, r.loss) as tf.Scalar;
        },
        true,
        vars,
      ) as tf.Scalar;
      // Asynchronous reads (webgpu in Node has no synchronous read).
      const terms = [kept.cls ?? loss, kept.dom ?? tf.scalar(0)];
      const read = tf.stack(terms);
      const [cls, dom] = await read.data();
      tf.dispose([read, loss, ...terms]);
      tf.dispose([sb.images, sb.classes, tb?.images, tb?.classes].filter(Boolean) as tf.Tensor[]);
      progress.update(step, {
        losses: { cls, ...(tgt ? { dom } : {}) },
        imagesPerSec: (1000 * step * o.batch * (tgt ? 2 : 1)) / Math.max(1, Date.now() - t0),
      });
    }
  } finally {
    progress.stop();
    await src.close();
    await tgt?.close();
  }
  // Target (MNIST-M) test accuracy.
  const test = createBatchIterator(clsSpec('mnist-m', 'test', o.backgrounds, 0), {
    batchSize: 100,
    transform: {},
    forever: false,
    shuffle: false,
    workers: 0,
  }) as unknown as ClsIterator;
  let correct = 0;
  let total = 0;
  try {
    for (;;) {
      if (o.evalLimit && total >= o.evalLimit) break;
      const r = await test.next();
      if (r.done) break;
      const b = r.value;
      const hitsT = tf.tidy(() => {
        const pred = tf.argMax(tf.mean(net.logits(b.images, false), [1, 2]), 1);
        return tf.sum(tf.cast(tf.equal(pred, tf.cast(b.classes as tf.Tensor1D, 'int32')), 'int32'));
      });
      correct += (await hitsT.data())[0];
      hitsT.dispose();
      total += b.images.shape[0];
      tf.dispose([b.images, b.classes].filter(Boolean) as tf.Tensor[]);
    }
  } finally {
    await test.close();
  }
  net.dispose();
  optimizer.dispose();
  domainClf?.dispose?.();
  return correct / Math.max(1, total);
}

/** Result of {@link benchDigits}. */
export interface DigitsBench {
  classification: Record<'source-only' | 'dann' | 'target-trained', number[]>;
  segmentation: Record<string, number[]>;
  markdown: string;
  seconds: number;
}

/**
 * `road bench digits`: the DANN paper protocol MNIST → MNIST-M. Classification: source-only, DANN and
 * target-trained accuracy on the MNIST-M test set next to the paper's .5225 / .7666 / .9596; segmentation view
 * (canvases of several digits, 11 classes): source-only / dst / spt / road mIoU with the trainer's recipe.
 */
export async function benchDigits(o: {
  backgrounds?: string;
  seeds: number;
  quick?: boolean;
  backend?: string;
  outDir: string;
  log: (l: string) => void;
  quiet?: boolean;
}): Promise<DigitsBench> {
  const t0 = Date.now();
  const backend = o.backend ?? 'auto';
  const engine = await ensureEngine(backend, o.log);
  mkdirSync(o.outDir, { recursive: true });
  const recipe = o.quick ? DIGITS_RECIPE.quick : DIGITS_RECIPE.full;
  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  const classification: DigitsBench['classification'] = { 'source-only': [], dann: [], 'target-trained': [] };
  const segmentation: Record<string, number[]> = { 'source-only': [], dst: [], spt: [], road: [] };
  const bg = o.backgrounds ? { backgrounds: o.backgrounds } : {};
  for (const seed of seeds) {
    for (const method of ['source-only', 'dann', 'target-trained'] as const) {
      const acc = await trainDigitsClassifier({
        method,
        seed,
        steps: recipe.steps,
        batch: recipe.batch,
        backgrounds: o.backgrounds,
        evalLimit: recipe.evalLimit,
        log: o.log,
        quiet: o.quiet,
      });
      classification[method].push(acc);
      o.log(`bench digits: seed ${seed} classification ${method}: MNIST-M accuracy ${acc.toFixed(4)}`);
    }
    const teacher = await cachedTeacher(cacheDir(), {
      dataset: { kind: 'digits', split: 'train', options: { domain: 'mnist-m', view: 'segmentation', ...bg } },
      net: 'road-lite',
      steps: o.quick ? 4 : 300,
      batch: o.quick ? 2 : 4,
      crop: o.quick ? 32 : 64,
      seed,
      backend,
      log: o.log,
      quiet: o.quiet,
    });
    for (const preset of Object.keys(segmentation)) {
      const config = loadConfig(preset, [
        ...recipe.seg,
        `seed=${seed}`,
        `source=${JSON.stringify({ kind: 'digits', split: 'train', options: { domain: 'mnist', ...bg } })}`,
        `target=${JSON.stringify({ kind: 'digits', split: 'train', options: { domain: 'mnist-m', ...bg } })}`,
        `val=${JSON.stringify({ kind: 'digits', split: 'test', options: { domain: 'mnist-m', ...bg } })}`,
        ...(o.quick ? [] : ['evalLimit=500']),
        ...(backend !== 'auto' ? [`backend=${backend}`] : []),
      ]);
      const r = await trainRun(config, {
        outDir: join(o.outDir, `seg-seed-${seed}`, preset),
        teacherCheckpoint: teacher.checkpoint,
        log: o.log,
        quiet: o.quiet,
        gridRows: 0,
      });
      segmentation[preset].push(r.final?.miou ?? Number.NaN);
    }
  }
  const fmt = (v: number[]) => {
    const s = summarize(v);
    return v.length > 1 ? `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)}` : s.mean.toFixed(4);
  };
  const markdown = [
    `# road bench digits${o.quick ? ' (quick)' : ''}`,
    '',
    `MNIST → MNIST-M (backgrounds: ${o.backgrounds ?? 'procedural colour textures, not BSDS500'}), road-lite, ${seeds.length} seed(s), backend ${engine.name}.`,
    '',
    '## Classification (MNIST-M test accuracy)',
    '',
    '| method | road (ours) | DANN paper (Ganin et al. 2016, Table 2) |',
    '|:---|---:|---:|',
    `| source-only | ${fmt(classification['source-only'])} | ${DANN_PAPER_DIGITS.sourceOnly.toFixed(4)} |`,
    `| DANN | ${fmt(classification.dann)} | ${DANN_PAPER_DIGITS.dann.toFixed(4)} |`,
    `| target-trained (upper bound) | ${fmt(classification['target-trained'])} | ${DANN_PAPER_DIGITS.targetTrained.toFixed(4)} |`,
    '',
    'The paper used its own LeNet-style CNN and real BSDS500 backgrounds; ours is road-lite with position-averaged logits.',
    '',
    '## Segmentation view (MNIST-M test canvases, mIoU over 11 classes)',
    '',
    '| preset | mIoU |',
    '|:---|---:|',
    ...Object.entries(segmentation).map(([p, v]) => `| ${p} | ${fmt(v)} |`),
  ].join('\n');
  const seconds = (Date.now() - t0) / 1000;
  const result: DigitsBench = {
    classification,
    segmentation,
    markdown: `${markdown}\n\nWall time ${seconds.toFixed(0)} s.`,
    seconds,
  };
  writeFileSync(join(o.outDir, 'bench-digits.md'), `${result.markdown}\n`);
  writeFileSync(join(o.outDir, 'bench-digits.json'), JSON.stringify(result, null, 2));
  return result;
}
