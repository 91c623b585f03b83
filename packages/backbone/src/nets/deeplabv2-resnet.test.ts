import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { netSuite } from '../../test/net-suite.js';
import { createBackbone, createSegmentationNet } from '../segmentation-net.js';

netSuite({
  title: 'deeplabv2-resnet (ResNet-50, widthMultiplier 1/32, stride 8, 1×17×19 input)',
  name: 'deeplabv2-resnet',
  options: { numClasses: 3, widthMultiplier: 1 / 32, seed: 5 },
  input: [1, 17, 19, 3],
  // conv1 ⌈17/2⌉ = 9, pool ⌈9/2⌉ = 5, conv3 ⌈5/2⌉ = 3; width 19 → 10 → 5 → 3
  featureSize: [3, 3],
  featureChannels: 64,
  outputStride: 8,
});

describe('deeplabv2-resnet structure', () => {
  it('ResNet-50 trunk has Keras ResNet50 (no top) parameters and names: 23,587,712', () => {
    const b = createBackbone('deeplabv2-resnet', {});
    expect(b.countParams()).toBe(23_587_712);
    const names = b.layers.map((l) => l.name);
    for (const n of [
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'pool1_pool',
      'conv2_block1_0_conv',
      'conv2_block1_1_conv',
      'conv3_block4_3_bn',
      'conv4_block6_out',
      'conv5_block3_2_conv',
      'conv5_block3_out',
    ]) {
      expect(names).toContain(n);
    }
    expect(names).not.toContain('conv4_block7_out');
    // stride 8: conv4 dilated by 2, conv5 by 4 (AtrousConv2D); conv3 not dilated
    expect(b.getLayer('conv4_block1_2_conv').getConfig()).toMatchObject({ dilationRate: 2 });
    expect(b.getLayer('conv5_block3_2_conv').getConfig()).toMatchObject({ dilationRate: 4 });
    expect(b.getLayer('conv3_block1_2_conv').getClassName()).toBe('Conv2D');
    b.dispose();
  });

  it('ResNet-101 trunk: 42,658,176 parameters (Keras ResNet101, no top); stride 16 dilates conv5 only', () => {
    const b = createBackbone('deeplabv2-resnet', { depth: 101, outputStride: 16 });
    expect(b.countParams()).toBe(42_658_176);
    expect(b.getLayer('conv4_block23_out')).toBeDefined();
    expect(b.getLayer('conv4_block1_2_conv').getClassName()).toBe('Conv2D');
    expect(b.getLayer('conv5_block1_2_conv').getConfig()).toMatchObject({ dilationRate: 2 });
    b.dispose();
  });

  it('ASPP head: four 3×3 convs to classes with rates 6, 12, 18, 24, summed', () => {
    const net = createSegmentationNet('deeplabv2-resnet', { numClasses: 2, widthMultiplier: 1 / 32, seed: 1 });
    const rates = [6, 12, 18, 24];
    const convs = rates.map((r) => net.head.getLayer(`aspp_rate${r}`));
    expect(convs.map((l) => (l.getConfig() as { dilationRate: number }).dilationRate)).toEqual(rates);
    tf.tidy(() => {
      const f = tf.randomNormal([1, 3, 4, net.featureChannels], 0, 1, 'float32', 2) as tf.Tensor4D;
      const sum = tf.addN(convs.map((l) => l.apply(f) as tf.Tensor));
      expect(Array.from(net.logitsFromFeatures(f).dataSync())).toEqual(Array.from(sum.dataSync()));
    });
    net.dispose();
  });

  it('rejects bad options', () => {
    expect(() => createSegmentationNet('deeplabv2-resnet', { numClasses: 2, depth: 34 })).toThrow(
      /depth must be 50 or 101, got 34/,
    );
    expect(() => createSegmentationNet('deeplabv2-resnet', { numClasses: 2, asppRates: [] })).toThrow(/asppRates/);
    expect(() => createSegmentationNet('deeplabv2-resnet', { numClasses: 2, headChannels: 3 })).toThrow(
      /unknown option 'headChannels'/,
    );
  });
});
