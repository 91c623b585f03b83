import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { input, type LayersModel, layers, model, type SymbolicTensor, sequential } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { nodeFileHandler } from './file-io.js';
import { importKerasWeights, resnetName, vgg16Name } from './keras-import.js';
import { createSegmentationNet } from './segmentation-net.js';

/**
 * A stand-in for Keras `VGG16(include_top=False)` converted to tfjs, built here independently of the package:
 * Keras layer names, ReLU inside the convs, 2×2 pools, widths scaled by 1/16. Outputs block5_conv3 (stride 16).
 */
function kerasVgg16Fixture(scale: number, seed: number): LayersModel {
  const m = sequential({ name: 'vgg16' });
  const blocks = [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ];
  blocks.forEach((widths, b) => {
    widths.forEach((c, i) => {
      m.add(
        layers.conv2d({
          name: `block${b + 1}_conv${i + 1}`,
          filters: c * scale,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          ...(b === 0 && i === 0 ? { inputShape: [null, null, 3] } : {}),
        }),
      );
    });
    if (b < 4) m.add(layers.maxPooling2d({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2 }));
  });
  // random, seeded weights (not the initializer's) so that a copy is visible
  for (const l of m.layers) {
    if (l.weights.length)
      l.setWeights(l.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.2, 'float32', seed + i)));
  }
  return m;
}

describe('importKerasWeights', () => {
  it('loads Keras VGG16 weights by name: features equal the Keras model output', async () => {
    const keras = kerasVgg16Fixture(1 / 16, 100);
    const net = createSegmentationNet('vgg16-fcn', { numClasses: 3, widthMultiplier: 1 / 16, seed: 1 });
    const report = await importKerasWeights(net, keras, { map: 'vgg16' });
    expect(report.copied).toHaveLength(13);
    expect(report.unmatchedSource).toEqual([]);
    expect(report.unmatchedTarget.sort()).toEqual(['fc6', 'fc7', 'score']);
    tf.tidy(() => {
      const x = tf.randomNormal([1, 32, 48, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const want = keras.predict(x) as tf.Tensor;
      const got = net.features(x);
      expect(got.shape).toEqual([1, 2, 3, 32]);
      expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5 * tf.max(tf.abs(want)).dataSync()[0]);
    });
    keras.dispose();
    net.dispose();
  });

  it('the same weights drive the stride-8 (atrous block5) variant too, layer for layer', async () => {
    const keras = kerasVgg16Fixture(1 / 16, 200);
    const net = createSegmentationNet('vgg16-fcn', { numClasses: 3, widthMultiplier: 1 / 16, outputStride: 8 });
    const report = await importKerasWeights(net, keras);
    expect(report.copied).toHaveLength(13);
    const a = keras.getLayer('block5_conv2').getWeights();
    const b = net.backbone.getLayer('block5_conv2').getWeights();
    expect(b[0].shape).toEqual(a[0].shape);
    expect(Array.from(b[0].dataSync())).toEqual(Array.from(a[0].dataSync()));
    expect(Array.from(b[1].dataSync())).toEqual(Array.from(a[1].dataSync()));
    keras.dispose();
    net.dispose();
  });

  it('maps Caffe/FCN names (conv1_1, fc6) and Keras top Dense fc1/fc2 into conv fc6/fc7 (reshaped, NHWC flatten)', async () => {
    // a fixture of independent layers: conv1_1 (Caffe name), fc1 (Keras top Dense on the 7×7×32 flatten), fc2
    const i1 = input({ shape: [null, null, 3] });
    const i2 = input({ shape: [7 * 7 * 32] });
    const i3 = input({ shape: [64] });
    const c = layers
      .conv2d({ name: 'conv1_1', filters: 4, kernelSize: 3, padding: 'same' })
      .apply(i1) as SymbolicTensor;
    const d1 = layers.dense({ name: 'fc1', units: 64 }).apply(i2) as SymbolicTensor;
    const d2 = layers.dense({ name: 'fc2', units: 64 }).apply(i3) as SymbolicTensor;
    const keras = model({ inputs: [i1, i2, i3], outputs: [c, d1, d2] });
    const net = createSegmentationNet('vgg16-fcn', {
      numClasses: 3,
      widthMultiplier: 1 / 16,
      fc6Kernel: 7,
      headChannels: 1024,
      outputStride: 32,
      dropout: 0,
    });
    const report = await importKerasWeights(net, keras);
    expect(report.copied.sort()).toEqual(['conv1_1 → block1_conv1', 'fc1 → fc6', 'fc2 → fc7']);
    // Dense row (h·7 + w)·32 + c ↔ conv kernel [h, w, c, :]
    const dense = keras.getLayer('fc1').getWeights()[0].arraySync() as number[][];
    const conv = net.head.getLayer('fc6').getWeights()[0].arraySync() as number[][][][];
    expect(conv[3][5][17]).toEqual(dense[(3 * 7 + 5) * 32 + 17]);
    // the flatten-then-Dense and the 7×7 conv agree on a 7×7 feature map (the FCN convolutionalisation)
    tf.tidy(() => {
      const f = tf.randomNormal([1, 7, 7, 32], 0, 1, 'float32', 3);
      const viaDense = tf.relu(
        layers
          .dense({ units: 64, weights: keras.getLayer('fc1').getWeights() })
          .apply(tf.reshape(f, [1, 7 * 7 * 32])) as tf.Tensor,
      );
      const viaConv = tf.slice(
        tf.relu(
          tf.add(
            tf.conv2d(f as tf.Tensor4D, net.head.getLayer('fc6').getWeights()[0] as tf.Tensor4D, 1, 'valid'),
            net.head.getLayer('fc6').getWeights()[1],
          ),
        ),
        [0, 0, 0, 0],
        [1, 1, 1, 64],
      );
      expect(tf.max(tf.abs(tf.sub(tf.reshape(viaConv, [1, 64]), viaDense))).dataSync()[0]).toBeLessThan(1e-4);
    });
    keras.dispose();
    net.dispose();
  });

  it('maps old Keras / Caffe ResNet names onto the Keras-2.2.5 names of deeplabv2-resnet (ResNet-101 blocks b1…b22)', async () => {
    const w = 1 / 32;
    const spec: [string, number, number, number][] = [
      // caffe name, kernel, in, out (ResNet-101 widths × 1/32)
      ['conv1', 7, 3, 2],
      ['res2a_branch1', 1, 2, 8],
      ['res2a_branch2a', 1, 2, 2],
      ['res3b_branch2b', 3, 4, 4],
      ['res4b22_branch2c', 1, 8, 32],
      ['res5c_branch2a', 1, 64, 16],
    ];
    const ins = spec.map(([, , ci]) => input({ shape: [null, null, ci] }));
    const outs = spec.map(
      ([n, k, , co], i) =>
        layers.conv2d({ name: n, filters: co, kernelSize: k, padding: 'same' }).apply(ins[i]) as SymbolicTensor,
    );
    const bnIn = input({ shape: [null, null, 32] });
    outs.push(layers.batchNormalization({ name: 'bn4b22_branch2c' }).apply(bnIn) as SymbolicTensor);
    ins.push(bnIn);
    const keras = model({ inputs: ins, outputs: outs });
    const bn = keras.getLayer('bn4b22_branch2c');
    bn.setWeights(bn.getWeights().map((t, i) => tf.randomUniform(t.shape, 0.5, 1.5, 'float32', i)));
    const net = createSegmentationNet('deeplabv2-resnet', { numClasses: 2, depth: 101, widthMultiplier: w });
    const report = await importKerasWeights(net, keras, { map: 'resnet50' });
    expect(report.copied.sort()).toEqual([
      'bn4b22_branch2c → conv4_block23_3_bn',
      'conv1 → conv1_conv',
      'res2a_branch1 → conv2_block1_0_conv',
      'res2a_branch2a → conv2_block1_1_conv',
      'res3b_branch2b → conv3_block2_2_conv',
      'res4b22_branch2c → conv4_block23_3_conv',
      'res5c_branch2a → conv5_block3_1_conv',
    ]);
    const a = bn.getWeights();
    const b = net.backbone.getLayer('conv4_block23_3_bn').getWeights();
    a.forEach((t, i) => {
      expect(Array.from(b[i].dataSync())).toEqual(Array.from(t.dataSync()));
    });
    expect(report.unmatchedTarget).toContain('conv1_bn');
    keras.dispose();
    net.dispose();
  });

  it('translates names as documented', () => {
    expect(vgg16Name('conv5_3')).toBe('block5_conv3');
    expect(vgg16Name('block2_conv1')).toBe('block2_conv1');
    expect(resnetName('bn_conv1')).toBe('conv1_bn');
    expect(resnetName('bn3d_branch2a')).toBe('conv3_block4_1_bn');
    expect(resnetName('res4b1_branch2a')).toBe('conv4_block2_1_conv');
    expect(resnetName('res4a_branch1')).toBe('conv4_block1_0_conv');
    expect(resnetName('fc1000')).toBe('fc1000');
  });

  it('reports unmatched source layers and errors on a shape mismatch naming the layer', async () => {
    const keras = kerasVgg16Fixture(1, 1); // full-width VGG16 (built, not run)
    const tinyNet = createSegmentationNet('vgg16-fcn', { numClasses: 3, widthMultiplier: 1 / 16 });
    await expect(importKerasWeights(tinyNet, keras)).rejects.toThrow(
      /layer 'block1_conv1', weight 'kernel': shape \[3,3,3,64\] in the source but \[3,3,3,4\] in the target/,
    );
    keras.dispose();
    const i = input({ shape: [4] });
    const extra = model({
      inputs: i,
      outputs: layers.dense({ name: 'predictions', units: 2 }).apply(i) as SymbolicTensor,
    });
    const r = await importKerasWeights(tinyNet, extra);
    expect(r.copied).toEqual([]);
    expect(r.unmatchedSource).toEqual(['predictions']);
    await expect(importKerasWeights(tinyNet, extra, { map: 'vgg' as 'vgg16' })).rejects.toThrow(/map must be/);
    extra.dispose();
    tinyNet.dispose();
  });

  it('loads from a file:// URL (tensorflowjs_converter output layout) and leaks nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'road-keras-'));
    const keras = kerasVgg16Fixture(1 / 16, 300);
    await keras.save(nodeFileHandler(dir));
    const net = createSegmentationNet('vgg16-fcn', { numClasses: 3, widthMultiplier: 1 / 16 });
    const before = tf.memory().numTensors;
    const report = await importKerasWeights(net, `file://${dir}`);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.copied).toHaveLength(13);
    const want = keras.getLayer('block3_conv2').getWeights()[0].dataSync();
    expect(Array.from(net.backbone.getLayer('block3_conv2').getWeights()[0].dataSync())).toEqual(Array.from(want));
    keras.dispose();
    net.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});
