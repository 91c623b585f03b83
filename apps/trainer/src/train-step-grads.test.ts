import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { createSegmentationNet } from '@road/backbone';
import { convDomainClassifier, SpatialAwareAdaptation } from '@road/dann';
import { FrozenTeacher } from '@road/distill';
import { loadConfig } from './config.js';
import { createTrainStep, type CropLike, type StepBatch } from './train-step.js';

// The step differentiates with @road/backend's lowMemoryVariableGrads; `use.tfjs` swaps in tf.variableGrads, so the
// same step can be run both ways and compared.
const use = vi.hoisted(() => ({ tfjs: false, calls: 0 }));
vi.mock('@road/backend', async (importOriginal) => {
  const m = await importOriginal<typeof import('@road/backend')>();
  return {
    ...m,
    lowMemoryVariableGrads: (f: () => tf.Scalar, vars: tf.Variable[]) => {
      use.calls++;
      return use.tfjs ? tf.variableGrads(f, vars) : m.lowMemoryVariableGrads(f, vars);
    },
  };
});

const H = 16;
const W = 32;
const crop = (left: number, flipped = false): CropLike => ({
  top: 0,
  left,
  height: H,
  width: W,
  fullHeight: H,
  fullWidth: 2 * W,
  ...(flipped ? { flipped } : {}),
});

/** Two ROAD steps (seg + dst + spt, Adam) on fresh, identically seeded parts; returns losses and every weight. */
async function twoSteps(netName: 'road-lite' | 'vgg16-fcn') {
  const config = loadConfig('road', ['steps=10', 'backend=cpu']);
  const options =
    netName === 'vgg16-fcn' ? { widthMultiplier: 1 / 16, dropout: 0, outputStride: 16 } : { widthMultiplier: 0.25 };
  const net = createSegmentationNet(netName, { numClasses: 3, seed: 1, ...options });
  const teacherNet = createSegmentationNet(netName, { numClasses: 4, seed: 2, ...options });
  const teacher = new FrozenTeacher(teacherNet.backbone, { disposeModel: false });
  const spatial = new SpatialAwareAdaptation({
    grid: config.grid,
    classifier: (r) =>
      convDomainClassifier({ inChannels: net.featureChannels, hidden: [8], kernelSize: 1, seed: 10 + r }),
  });
  const optimizer = tf.train.adam(config.optimizer.lr);
  const step = createTrainStep(config, { net, teacher, spatial, optimizer });
  const batch: StepBatch = {
    source: {
      images: tf.randomNormal([2, H, W, 3], 0, 1, 'float32', 3) as tf.Tensor4D,
      labels: tf.tensor3d(
        Array.from({ length: 2 * H * W }, (_, i) => (i % 7 === 0 ? 255 : i % 3)),
        [2, H, W],
        'int32',
      ),
      crops: [crop(0), crop(W, true)],
    },
    target: { images: tf.randomNormal([2, H, W, 3], 0.5, 1, 'float32', 4) as tf.Tensor4D, crops: [crop(W), crop(0)] },
  };
  const before = tf.memory().numTensors;
  const first = await step(batch, 1);
  const afterFirst = tf.memory().numTensors;
  const second = await step(batch, 2);
  const leaked = tf.memory().numTensors - afterFirst;
  const weights = step.variables.map((v) => Array.from(v.dataSync()));
  tf.dispose([batch.source.images, batch.source.labels, batch.target?.images as tf.Tensor]);
  net.dispose();
  teacherNet.dispose();
  spatial.dispose();
  optimizer.dispose();
  return {
    first,
    second,
    weights,
    names: step.variables.map((v) => v.name),
    leaked,
    firstStepTensors: afterFirst - before,
  };
}

describe('createTrainStep differentiates with lowMemoryVariableGrads', () => {
  for (const netName of ['road-lite', 'vgg16-fcn'] as const) {
    it(`${netName}: same losses and bit-identical weights after two Adam steps as with tf.variableGrads (cpu); no leak`, async () => {
      await tf.setBackend('cpu');
      use.calls = 0;
      use.tfjs = false;
      const ours = await twoSteps(netName);
      expect(use.calls).toBe(2);
      use.tfjs = true;
      const theirs = await twoSteps(netName);
      use.tfjs = false;
      expect(ours.first).toEqual(theirs.first);
      expect(ours.second).toEqual(theirs.second);
      expect(ours.first.dst).toBeGreaterThan(0);
      expect(ours.weights.length).toBe(theirs.weights.length); // (names differ by tfjs-layers' uniquifying suffix)
      for (let i = 0; i < ours.weights.length; i++) expect(ours.weights[i], ours.names[i]).toEqual(theirs.weights[i]);
      expect(ours.leaked).toBe(0);
      // Adam's two moments per variable (+2 power accumulators) appear in step 1, nothing else stays.
      expect(ours.firstStepTensors).toBe(theirs.firstStepTensors);
    });
  }
});
