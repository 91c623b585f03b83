import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { netSuite } from '../../test/net-suite.js';
import { countFlops } from '../count-flops.js';
import { createBackbone, createSegmentationNet } from '../segmentation-net.js';

netSuite({
  title: 'vgg16-fcn (widthMultiplier 1/16, stride 16, 1×32×32 input)',
  name: 'vgg16-fcn',
  options: { numClasses: 4, widthMultiplier: 1 / 16, dropout: 0, seed: 3 },
  input: [1, 32, 32, 3],
  featureSize: [2, 2],
  featureChannels: 32,
  outputStride: 16,
  optimizer: () => tf.train.adam(3e-3),
});

netSuite({
  title: 'vgg16-fcn (widthMultiplier 1/16, stride 8 with atrous block5, 1×16×24 input)',
  name: 'vgg16-fcn',
  options: { numClasses: 4, widthMultiplier: 1 / 16, outputStride: 8, dropout: 0, seed: 3 },
  input: [1, 16, 24, 3],
  featureSize: [2, 3],
  featureChannels: 32,
  outputStride: 8,
  optimizer: () => tf.train.adam(3e-3),
});

describe('vgg16-fcn at full size (built, not run)', () => {
  it('has the VGG16 conv trunk of Keras: 14,714,688 parameters, Keras layer names', () => {
    for (const outputStride of [16, 8]) {
      const b = createBackbone('vgg16-fcn', { outputStride });
      expect(b.countParams()).toBe(14_714_688);
      const convs = b.layers.filter((l) => /conv/.test(l.name)).map((l) => l.name);
      expect(convs).toEqual([
        'block1_conv1',
        'block1_conv2',
        'block2_conv1',
        'block2_conv2',
        'block3_conv1',
        'block3_conv2',
        'block3_conv3',
        'block4_conv1',
        'block4_conv2',
        'block4_conv3',
        'block5_conv1',
        'block5_conv2',
        'block5_conv3',
      ]);
      expect(b.getLayer('block5_conv1').getClassName()).toBe(outputStride === 8 ? 'AtrousConv2D' : 'Conv2D');
      b.dispose();
    }
  });

  it('counts the FLOPs of the trunk by hand: Σ 2·9·Ci·Co·positions', () => {
    const b = createBackbone('vgg16-fcn', {});
    // 224×224 input, stride 16 (no block5_pool): blocks at 224², 112², 56², 28², 14².
    const per = (ci: number, co: number, s: number) => 2 * 9 * ci * co * s * s;
    const expected =
      per(3, 64, 224) +
      per(64, 64, 224) +
      per(64, 128, 112) +
      per(128, 128, 112) +
      per(128, 256, 56) +
      2 * per(256, 256, 56) +
      per(256, 512, 28) +
      2 * per(512, 512, 28) +
      3 * per(512, 512, 14);
    expect(countFlops(b, [224, 224, 3]).total).toBe(expected); // 30.7 GFLOP, the usual "15.3 GMACs"
    b.dispose();
  });

  it('drops out fc6/fc7 activations in training mode only (fresh masks each call)', () => {
    const net = createSegmentationNet('vgg16-fcn', { numClasses: 2, widthMultiplier: 1 / 16, dropout: 0.5, seed: 1 });
    tf.tidy(() => {
      const f = tf.randomUniform([1, 3, 3, 32], 0, 1, 'float32', 1) as tf.Tensor4D;
      const a = net.logitsFromFeatures(f, true).dataSync();
      const b = net.logitsFromFeatures(f, true).dataSync();
      expect(Array.from(a)).not.toEqual(Array.from(b));
      expect(Array.from(net.logitsFromFeatures(f).dataSync())).toEqual(
        Array.from(net.logitsFromFeatures(f).dataSync()),
      );
    });
    net.dispose();
  });

  it('rejects bad options with the value in the message', () => {
    expect(() => createSegmentationNet('vgg16-fcn', { numClasses: 2, outputStride: 4 })).toThrow(
      /outputStride must be 8, 16 or 32, got 4/,
    );
    expect(() => createSegmentationNet('vgg16-fcn', { numClasses: 2, dropout: 1 })).toThrow(/dropout/);
    expect(() => createSegmentationNet('vgg16-fcn', { numClasses: 2, fc6Kernel: 0 })).toThrow(/fc6Kernel/);
  });
});
