/**
 * Tiny ROAD-step fixtures for the trainer's tests (not exported by the package): road-lite (or a 1/16-width
 * vgg16-fcn) student and teacher with fixed seeds, 1×1-conv region classifiers, tfjs Adam, and one 2+2 × 16×32 batch
 * whose crops sit on a 16×64 full image (one flipped).
 */

import { createSegmentationNet } from '@road/backbone';
import { convDomainClassifier, SpatialAwareAdaptation } from '@road/dann';
import type { Crop } from '@road/datasets';
import { FrozenTeacher } from '@road/distill';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config.js';
import { createTrainStep, type StepBatch } from './train-step.js';

export const H = 16;
export const W = 32;

/** A crop of H×W at column `left` of a H×2W full image. */
export const crop = (left: number, flipped = false): Crop => ({
  top: 0,
  left,
  height: H,
  width: W,
  fullHeight: H,
  fullWidth: 2 * W,
  ...(flipped ? { flipped } : {}),
});

/** Source (labels 0..2, every 7th pixel ignored) and target batches of 2 images each, fixed seeds. */
export function tinyBatch(): StepBatch {
  return {
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
}

export function disposeBatch(b: StepBatch): void {
  tf.dispose([b.source.images, b.source.labels, b.target?.images].filter(Boolean) as tf.Tensor[]);
}

/** Student, frozen teacher, region classifiers, Adam and the step of `config`, made on the current backend. */
export function tinyStepParts(config: TrainConfig, netName: 'road-lite' | 'vgg16-fcn' = 'road-lite') {
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
  const dispose = () => {
    net.dispose();
    teacherNet.dispose();
    spatial.dispose();
    optimizer.dispose();
  };
  return { net, teacherNet, spatial, optimizer, step, dispose };
}
