// Full-width torchvision VGG16 (138 M parameters, a 528 MB .pth) against PyTorch. Outside the default suite:
//   /usr/bin/python3 packages/backbone/fixtures/weights/make_weights.py /tmp/road-weights --full-vgg16
//   ROAD_FULL_WEIGHTS=/tmp/road-weights npx vitest run --project backbone src/weights/full-vgg16.test.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { model as makeModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { relError } from '../../test/helpers.js';
import { normalizeInput } from '../preprocess.js';
import { createSegmentationNet } from '../segmentation-net.js';
import { loadPretrainedWeights } from './load-pretrained.js';
import { fixedImage } from './weights-fixtures.js';

const dir = process.env.ROAD_FULL_WEIGHTS;

describe.skipIf(!dir)('full-width torchvision VGG16 .pth (ROAD_FULL_WEIGHTS)', () => {
  it('features (stride 32) and fc7 match PyTorch float64 to 1e-4', { timeout: 900_000 }, () => {
    const ref = JSON.parse(readFileSync(join(dir!, 'vgg16-full.json'), 'utf8'));
    const net = createSegmentationNet('vgg16-fcn', {
      numClasses: 19,
      outputStride: 32,
      fc6Kernel: 7,
      headChannels: 4096,
      dropout: 0,
      seed: 0,
    });
    const t0 = Date.now();
    const r = loadPretrainedWeights(net, join(dir!, 'vgg16-full.pth'));
    const loadSeconds = (Date.now() - t0) / 1000;
    expect(r.matched).toHaveLength(30);
    const x = tf.tidy(() => normalizeInput(tf.tensor4d(fixedImage(224, 224), [1, 224, 224, 3]), 'torch'));
    const f = net.features(x);
    const fc7 = makeModel({ inputs: net.head.inputs, outputs: net.head.getLayer('fc7').output as SymbolicTensor });
    const y = fc7.predict(f) as tf.Tensor4D;
    const centre = tf.slice(y, [0, 3, 3, 0], [1, 1, 1, -1]);
    const ef = relError(f.dataSync(), ref.features_os32);
    const e7 = relError(centre.dataSync(), ref.fc7);
    console.log(
      `full VGG16: load ${loadSeconds.toFixed(1)} s, features rel ${ef.toExponential(2)}, fc7 rel ${e7.toExponential(2)}`,
    );
    expect(ef).toBeLessThan(1e-4);
    expect(e7).toBeLessThan(1e-4);
    tf.dispose([x, f, y, centre]);
    net.dispose();
  });
});
