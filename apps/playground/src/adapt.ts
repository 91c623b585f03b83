// The Adapt live tab: source-only and DANN trained side by side in the page on MNIST → MNIST-M, with the DANN paper's
// digits net (@road/backbone's dann-digits) and recipe (SGD momentum 0.9, μ_p = 0.01/(1+10p)^0.75, λ_p schedule,
// domain head fc100 → fc1 through gradient reversal; @road/dann).
import { createSegmentationNet, DANN_DIGITS_FEATURES, type SegmentationNet } from '@road/backbone';
import {
  type DomainClassifier,
  dannClassificationObjective,
  dannLambda,
  dannLearningRate,
  mlpDomainClassifier,
} from '@road/dann';
import { type BackgroundImage, deriveSeed, proceduralBackgrounds, Rng } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { drawChart } from './chart.js';
import {
  type DigitPool,
  decodeBackground,
  type ImageSet,
  mnistImage,
  mnistMImage,
  mnistMSet,
  PIXELS,
  SIZE,
} from './digits-data.js';

/** Steps over which the paper's schedules run from p = 0 to 1 (the page trains on past it with p = 1). */
export const HORIZON = 3000;
const BATCH = 32;
const TEST_SIZE = 300;
const GRID = 24;
const EVAL_EVERY = 25;

type MethodName = 'source-only' | 'dann';

interface Method {
  name: MethodName;
  net: SegmentationNet;
  optimizer: tf.MomentumOptimizer;
  domain: DomainClassifier | null;
  rng: Rng;
}

/** What the tab has measured (read by the browser tests through `window.playground.adapt`). */
export interface AdaptState {
  step: number;
  running: boolean;
  /** Label loss per step and method. */
  loss: Record<MethodName, [number, number][]>;
  /** MNIST-M test accuracy per evaluation. */
  accuracy: Record<MethodName, [number, number][]>;
  /** DANN's domain-classifier accuracy on its training batch, per step. */
  domainAccuracy: [number, number][];
  error: string | null;
}

function meanPixel(train: DigitPool, backgrounds: readonly BackgroundImage[]): number[] {
  const rng = new Rng('mean-pixel');
  const sum = [0, 0, 0];
  const n = Math.min(500, train.n);
  for (let i = 0; i < n; i++) {
    for (const img of [mnistImage(train, i), mnistMImage(train, i, backgrounds, rng)])
      for (let p = 0; p < PIXELS; p++) sum[p % 3] += img[p];
  }
  return sum.map((s) => s / (2 * n * SIZE * SIZE));
}

function toTensor(images: Uint8Array[], mean: readonly number[]): tf.Tensor4D {
  const x = new Float32Array(images.length * PIXELS);
  images.forEach((img, b) => {
    for (let p = 0; p < PIXELS; p++) x[b * PIXELS + p] = (img[p] - mean[p % 3]) / 255;
  });
  return tf.tensor4d(x, [images.length, SIZE, SIZE, 3]);
}

function tileCanvas(image: Uint8Array): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = SIZE;
  c.height = SIZE;
  const ctx = c.getContext('2d');
  if (ctx) {
    const data = ctx.createImageData(SIZE, SIZE);
    for (let p = 0; p < SIZE * SIZE; p++) {
      data.data[4 * p] = image[3 * p];
      data.data[4 * p + 1] = image[3 * p + 1];
      data.data[4 * p + 2] = image[3 * p + 2];
      data.data[4 * p + 3] = 255;
    }
    ctx.putImageData(data, 0, 0);
  }
  return c;
}

/** Sets up the tab; `train` / `test` are the MNIST digits of data/mnist.bin. */
export function setupAdapt(train: DigitPool, test: DigitPool, status: (line: string) => void): AdaptState {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const startBtn = $<HTMLButtonElement>('adapt-start');
  const stopBtn = $<HTMLButtonElement>('adapt-stop');
  const bgInput = $<HTMLInputElement>('adapt-backgrounds');
  const numbers = $('adapt-numbers');
  const grid = $('adapt-grid');
  const state: AdaptState = {
    step: 0,
    running: false,
    loss: { 'source-only': [], dann: [] },
    accuracy: { 'source-only': [], dann: [] },
    domainAccuracy: [],
    error: null,
  };
  let backgrounds: BackgroundImage[] = proceduralBackgrounds(0);
  let backgroundNote = 'procedural colour textures';
  let mean = meanPixel(train, backgrounds);
  let testSet: ImageSet = mnistMSet(test, TEST_SIZE, backgrounds, 'mnist-m-test');
  let methods: Method[] = [];

  const build = (): Method[] =>
    (['source-only', 'dann'] as MethodName[]).map((name, k) => ({
      name,
      net: createSegmentationNet('dann-digits', { numClasses: 10, seed: 1 }),
      optimizer: tf.train.momentum(0.01, 0.9),
      domain:
        name === 'dann'
          ? mlpDomainClassifier({ inputDim: DANN_DIGITS_FEATURES, hidden: [100], dropout: 0, seed: 31 })
          : null,
      rng: new Rng(deriveSeed(1, 'playground-batches', k)),
    }));
  const disposeAll = () => {
    for (const m of methods) {
      m.net.dispose();
      m.optimizer.dispose();
      m.domain?.dispose?.();
    }
    methods = [];
  };
  const reset = () => {
    disposeAll();
    methods = build();
    state.step = 0;
    state.loss = { 'source-only': [], dann: [] };
    state.accuracy = { 'source-only': [], dann: [] };
    state.domainAccuracy = [];
  };

  /** One SGD step of `m` on a batch; returns [label loss, domain-classifier accuracy (NaN for source-only)]. */
  const stepMethod = async (m: Method, step: number): Promise<[number, number]> => {
    const p = Math.min(1, step / HORIZON);
    m.optimizer.setLearningRate(dannLearningRate(p));
    const lambda = dannLambda(p);
    const si = Array.from({ length: BATCH }, () => m.rng.int(0, train.n));
    const xs = toTensor(
      si.map((i) => mnistImage(train, i)),
      mean,
    );
    const ys = Int32Array.from(si, (i) => train.labels[i]);
    const xt =
      m.domain != null
        ? toTensor(
            Array.from({ length: BATCH }, () => mnistMImage(train, m.rng.int(0, train.n), backgrounds, m.rng)),
            mean,
          )
        : null;
    const kept: { cls?: tf.Scalar; acc?: tf.Scalar } = {};
    const vars = [...m.net.trainableVariables(), ...(m.domain ? m.domain.trainableWeights : [])];
    const total = m.optimizer.minimize(
      () => {
        const t = dannClassificationObjective({
          net: m.net,
          source: xs,
          labels: ys,
          target: xt,
          domainClassifier: m.domain,
          lambda,
          accuracy: true,
        });
        kept.cls = tf.keep(t.labelLoss);
        if (t.domainAccuracy) kept.acc = tf.keep(t.domainAccuracy);
        return t.loss;
      },
      true,
      vars,
    ) as tf.Scalar;
    const read = tf.stack([kept.cls ?? total, kept.acc ?? tf.scalar(Number.NaN)]);
    const [cls, acc] = await read.data();
    tf.dispose([
      read,
      total,
      xs,
      ...(xt ? [xt] : []),
      ...(kept.cls ? [kept.cls] : []),
      ...(kept.acc ? [kept.acc] : []),
    ]);
    return [cls, acc];
  };

  const evaluate = async () => {
    const preds: Record<string, Int32Array> = {};
    for (const m of methods) {
      const out = new Int32Array(testSet.n);
      for (let b = 0; b < testSet.n; b += 100) {
        const n = Math.min(100, testSet.n - b);
        const imgs = Array.from({ length: n }, (_, k) =>
          testSet.images.subarray((b + k) * PIXELS, (b + k + 1) * PIXELS),
        );
        const x = toTensor(imgs, mean);
        const pred = tf.tidy(() => tf.argMax(tf.reshape(m.net.logits(x, false), [n, 10]), 1));
        out.set(await pred.data(), b);
        tf.dispose([x, pred]);
      }
      preds[m.name] = out;
      let correct = 0;
      for (let i = 0; i < testSet.n; i++) if (out[i] === testSet.labels[i]) correct++;
      state.accuracy[m.name].push([state.step, correct / testSet.n]);
    }
    drawGrid(preds);
  };

  const drawGrid = (preds: Record<string, Int32Array> | null) => {
    grid.replaceChildren();
    for (let i = 0; i < Math.min(GRID, testSet.n); i++) {
      const tile = document.createElement('li');
      tile.className = 'tile';
      const label = testSet.labels[i];
      const c = tileCanvas(testSet.images.subarray(i * PIXELS, (i + 1) * PIXELS));
      c.setAttribute('aria-hidden', 'true');
      tile.append(c);
      const words: string[] = [`digit ${label}`];
      if (preds) {
        for (const [name, short] of [
          ['source-only', 'SO'],
          ['dann', 'DANN'],
        ] as const) {
          const p = preds[name][i];
          const line = document.createElement('div');
          line.className = p === label ? 'ok' : 'bad';
          line.textContent = `${short} ${p} ${p === label ? '✓' : '✗'}`;
          tile.append(line);
          words.push(`${name} says ${p}, ${p === label ? 'right' : 'wrong'}`);
        }
      }
      tile.setAttribute('aria-label', words.join('; '));
      grid.append(tile);
    }
  };

  const render = () => {
    drawChart($<HTMLCanvasElement>('chart-loss'), [
      { name: 'source-only', color: '#cf222e', points: state.loss['source-only'] },
      { name: 'DANN', color: '#0b5cad', points: state.loss.dann },
    ]);
    drawChart(
      $<HTMLCanvasElement>('chart-acc'),
      [
        { name: 'source-only', color: '#cf222e', points: state.accuracy['source-only'] },
        { name: 'DANN', color: '#0b5cad', points: state.accuracy.dann },
        { name: 'domain clf (DANN)', color: '#8250df', dashed: true, points: state.domainAccuracy },
      ],
      { yMax: 1 },
    );
    const last = <T>(a: T[]) => a[a.length - 1];
    numbers.replaceChildren(
      ...(['source-only', 'dann'] as MethodName[]).map((name) => {
        const tr = document.createElement('tr');
        const loss = last(state.loss[name])?.[1];
        const acc = last(state.accuracy[name])?.[1];
        const dom = name === 'dann' ? last(state.domainAccuracy)?.[1] : undefined;
        for (const text of [
          name === 'dann' ? 'DANN' : 'source-only',
          String(state.step),
          loss == null ? '–' : loss.toFixed(3),
          acc == null ? '–' : `${(100 * acc).toFixed(1)}%`,
          dom == null ? '–' : `${(100 * dom).toFixed(1)}%`,
        ]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
  };

  const loop = async () => {
    while (state.running) {
      const step = state.step + 1;
      for (const m of methods) {
        const [cls, acc] = await stepMethod(m, step);
        if (!Number.isFinite(cls)) throw new Error(`${m.name}: the loss is not finite at step ${step}`);
        state.loss[m.name].push([step, cls]);
        if (m.name === 'dann') state.domainAccuracy.push([step, acc]);
      }
      state.step = step;
      if (step % EVAL_EVERY === 0) await evaluate();
      if (step % 5 === 0 || step === 1) {
        render();
        status(`Training: step ${step} (batch ${BATCH} MNIST${' + 32 MNIST-M for DANN'}), target: ${backgroundNote}.`);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  };

  startBtn.addEventListener('click', () => {
    if (state.running) return;
    if (methods.length === 0) reset();
    state.running = true;
    state.error = null;
    startBtn.disabled = true;
    stopBtn.disabled = false;
    startBtn.textContent = 'Continue training';
    loop()
      .catch((e: unknown) => {
        state.error = e instanceof Error ? e.message : String(e);
        status(`Training stopped: ${state.error}`);
      })
      .finally(() => {
        state.running = false;
        startBtn.disabled = false;
        stopBtn.disabled = true;
        render();
        if (!state.error) status(`Stopped at step ${state.step}. Start continues; new photos restart.`);
      });
  });
  stopBtn.addEventListener('click', () => {
    state.running = false;
  });
  bgInput.addEventListener('change', async () => {
    const files = [...(bgInput.files ?? [])];
    if (files.length === 0) return;
    state.running = false;
    try {
      const decoded = await Promise.all(files.map((f) => decodeBackground(f)));
      backgrounds = decoded;
      backgroundNote = `${decoded.length} photo${decoded.length > 1 ? 's' : ''} of yours`;
      mean = meanPixel(train, backgrounds);
      testSet = mnistMSet(test, TEST_SIZE, backgrounds, 'mnist-m-test');
      disposeAll();
      state.step = 0;
      state.loss = { 'source-only': [], dann: [] };
      state.accuracy = { 'source-only': [], dann: [] };
      state.domainAccuracy = [];
      startBtn.textContent = 'Start training';
      drawGrid(null);
      render();
      status(`MNIST-M now uses ${backgroundNote}. Start trains both methods from scratch.`);
    } catch (e) {
      status(`Backgrounds not used: ${(e as Error).message}`);
    }
  });

  drawGrid(null);
  render();
  status(`Ready: ${train.n} MNIST training digits, ${testSet.n} MNIST-M test digits (${backgroundNote}).`);
  return state;
}
