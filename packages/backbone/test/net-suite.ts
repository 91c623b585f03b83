// The properties every segmentation net must show, run as one describe block per net configuration.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentationNetOptions } from '../src/net-architecture.js';
import { createSegmentationNet, loadSegmentationNet, type SegmentationNet } from '../src/segmentation-net.js';
import { labelsFor, memoryStore, type TrainRun, trainRun } from './helpers.js';

export interface NetSuiteCase {
  title: string;
  name: string;
  options: SegmentationNetOptions;
  /** NHWC input shape (keep it tiny: the cpu backend trains at ~0.05 GFLOP/s). */
  input: [number, number, number, number];
  /** Expected feature (= logit) height and width for that input. */
  featureSize: [number, number];
  featureChannels: number;
  outputStride: number;
  optimizer?: () => tf.Optimizer;
}

export function netSuite(c: NetSuiteCase): void {
  describe(c.title, () => {
    let net: SegmentationNet;
    let x: tf.Tensor4D;
    let labels: tf.Tensor3D;
    let run: TrainRun;
    let before: { f: Float32Array; p: Float32Array };

    beforeAll(() => {
      net = createSegmentationNet(c.name, c.options);
      x = tf.randomNormal(c.input, 0, 1, 'float32', 42) as tf.Tensor4D;
      labels = labelsFor(net, x);
      run = trainRun(net, x, labels, 10, c.optimizer?.());
      const f = net.features(x);
      const p = net.predict(x);
      before = { f: f.dataSync() as Float32Array, p: p.dataSync() as Float32Array };
      tf.dispose([f, p]);
    });
    afterAll(() => {
      tf.dispose([x, labels]);
      net.dispose();
    });

    it('reports its facts and output shapes (features, logits, predict)', () => {
      const [n, h, w] = c.input;
      const [fh, fw] = c.featureSize;
      expect(net.name).toBe(c.name);
      expect(net.numClasses).toBe(c.options.numClasses);
      expect(net.outputStride).toBe(c.outputStride);
      expect(net.featureChannels).toBe(c.featureChannels);
      tf.tidy(() => {
        expect(net.features(x).shape).toEqual([n, fh, fw, c.featureChannels]);
        expect(net.logits(x).shape).toEqual([n, fh, fw, c.options.numClasses]);
        expect(net.logitsFromFeatures(net.features(x)).shape).toEqual([n, fh, fw, c.options.numClasses]);
        expect(net.predict(x).shape).toEqual([n, h, w, c.options.numClasses]);
      });
    });

    it('lowers the loss on a tiny batch in 10 optimizer steps (fixed seed)', () => {
      expect(run.losses.every(Number.isFinite)).toBe(true);
      expect(run.finalLoss).toBeLessThan(0.7 * run.losses[0]);
    });

    it('leaks no tensor over 10 training steps (numTensors after step 1 = after step 10)', () => {
      expect(run.tensorsAfterStep[9]).toBe(run.tensorsAfterStep[0]);
    });

    it('trainable variables are the trainable weights (no batch-norm statistics)', () => {
      const vars = net.trainableVariables();
      expect(vars.length).toBe(net.model.trainableWeights.length);
      expect(vars.every((v) => v instanceof tf.Variable && v.trainable)).toBe(true);
      expect(vars.some((v) => /moving_(mean|variance)/.test(v.name))).toBe(false);
    });

    it('gives identical outputs after save → load (memory IOHandler) and after loadWeights into a fresh net', async () => {
      const store = memoryStore();
      await net.save(store.handler);
      const loaded = await loadSegmentationNet(tf.io.fromMemory(store.artifacts()), { name: c.name });
      expect(loaded.outputStride).toBe(net.outputStride);
      expect(loaded.featureChannels).toBe(net.featureChannels);
      const fresh = createSegmentationNet(c.name, { ...c.options, seed: (c.options.seed ?? 0) + 1 });
      const report = await fresh.loadWeights(tf.io.fromMemory(store.artifacts()));
      expect(report.unmatchedTarget).toEqual([]);
      for (const m of [loaded, fresh]) {
        const f = m.features(x);
        const p = m.predict(x);
        expect(Array.from(f.dataSync())).toEqual(Array.from(before.f));
        expect(Array.from(p.dataSync())).toEqual(Array.from(before.p));
        tf.dispose([f, p]);
      }
      loaded.dispose();
      fresh.dispose();
    });
  });
}
