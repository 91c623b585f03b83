import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore, segLoss } from '../test/helpers.js';
import { NetBuilder } from './net-builder.js';
import { getSegmentationNetFactory, listSegmentationNets, registerSegmentationNet } from './registry.js';
import {
  copyBackboneWeights,
  createBackbone,
  createSegmentationNet,
  loadSegmentationNet,
  type SegmentationNet,
} from './segmentation-net.js';

const tiny = { numClasses: 3, widthMultiplier: 0.25, seed: 1 };

describe('registry', () => {
  it('lists the built-in nets and names them in the error for an unknown one', () => {
    expect(listSegmentationNets()).toEqual(expect.arrayContaining(['deeplabv2-resnet', 'road-lite', 'vgg16-fcn']));
    expect(() => createSegmentationNet('resnet9000', { numClasses: 2 })).toThrow(
      /unknown segmentation net 'resnet9000' \(registered: .*road-lite/,
    );
    expect(() => registerSegmentationNet('road-lite', getSegmentationNetFactory('road-lite'))).toThrow(
      /already registered/,
    );
    expect(() => registerSegmentationNet('bad name!', getSegmentationNetFactory('road-lite'))).toThrow(/invalid name/);
  });

  it('builds a user-registered net, HydraPlus included', () => {
    registerSegmentationNet('two-stage-test', (o) => ({
      stages: [
        (x, b) =>
          NetBuilder.call(
            b.relu('s1_relu'),
            NetBuilder.call(
              b.bn('s1_bn'),
              NetBuilder.call(b.conv('s1_conv', { filters: 4, kernelSize: 3, strides: 2 }), x),
            ),
          ),
        (x, b) =>
          NetBuilder.call(
            b.relu('s2_relu'),
            NetBuilder.call(
              b.bn('s2_bn'),
              NetBuilder.call(b.conv('s2_conv', { filters: 6, kernelSize: 3, strides: 2 }), x),
            ),
          ),
      ],
      head: (f, b) => NetBuilder.call(b.conv('cls', { filters: o.numClasses, kernelSize: 1 }), f),
      outputStride: 4,
      featureChannels: 6,
      batchNorm: true,
      attentionSource: 2,
      initializer: 'heNormal',
    }));
    expect(listSegmentationNets()).toContain('two-stage-test');
    const net = createSegmentationNet('two-stage-test', {
      numClasses: 2,
      attention: 'hydraplus',
      attentionMaps: 2,
      seed: 3,
    });
    tf.tidy(() => {
      expect(net.logits(tf.zeros([1, 8, 12, 3]) as tf.Tensor4D).shape).toEqual([1, 2, 3, 2]);
    });
    expect(net.backbone.layers.map((l) => l.name)).toContain('hp_mda2_to1');
    net.dispose();
  });

  it('rejects bad common options, naming the value', () => {
    expect(() => createSegmentationNet('road-lite', { numClasses: 0 })).toThrow(
      /numClasses must be an integer ≥ 1, got 0/,
    );
    expect(() => createSegmentationNet('road-lite', { numClasses: 2, inputChannels: 1.5 })).toThrow(/inputChannels/);
    expect(() => createSegmentationNet('road-lite', { numClasses: 2, attention: 'se' as 'none' })).toThrow(
      /attention must be/,
    );
    expect(() =>
      createSegmentationNet('road-lite', { numClasses: 2, attention: 'hydraplus', attentionMaps: 0 }),
    ).toThrow(/attentionMaps/);
    expect(() => createSegmentationNet('road-lite', { numClasses: 2, attentionLevels: [0.5] })).toThrow(
      /attentionLevels/,
    );
    expect(() => createSegmentationNet('road-lite', { numClasses: 2, seed: 1.5 })).toThrow(/seed/);
  });
});

describe('createSegmentationNet', () => {
  it('is deterministic given the seed and differs across seeds', () => {
    const w = (s: number) => {
      const n = createSegmentationNet('road-lite', { ...tiny, seed: s });
      const v = Array.from(n.backbone.getLayer('block3_1_conv').getWeights()[0].dataSync());
      n.dispose();
      return v;
    };
    expect(w(1)).toEqual(w(1));
    expect(w(1)).not.toEqual(w(2));
  });

  it('creating and disposing a net (plain and HydraPlus) leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    createSegmentationNet('road-lite', tiny).dispose();
    createSegmentationNet('road-lite', { ...tiny, attention: 'hydraplus', attentionMaps: 2 }).dispose();
    createBackbone('vgg16-fcn', { widthMultiplier: 1 / 16 }).dispose();
    createBackbone('road-lite', { widthMultiplier: 0.25, attention: 'hydraplus', attentionMaps: 2 }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('features(x, true) works inside tf.variableGrads: every trainable variable gets a finite gradient', () => {
    const net = createSegmentationNet('road-lite', { ...tiny, attention: 'hydraplus', attentionMaps: 2 });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const labels = tf.zeros([2, 2, 2], 'int32') as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => segLoss(net.logitsFromFeatures(net.features(x, true), true), labels),
      net.trainableVariables(),
    );
    const names = Object.keys(grads);
    expect(names.length).toBe(net.trainableVariables().length);
    const absSum = (n: string) => tf.tidy(() => tf.sum(tf.abs(grads[n])).dataSync()[0]);
    for (const n of names) expect(Number.isFinite(absSum(n))).toBe(true);
    const attKernel = names.find((n) => n.startsWith('hp_att3/kernel'))!;
    expect(absSum(attKernel)).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    net.dispose();
  });

  it('predict upsamples the logits with half-pixel bilinear interpolation to the input size', () => {
    const net = createSegmentationNet('road-lite', tiny);
    tf.tidy(() => {
      const x = tf.randomNormal([1, 13, 21, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      const p = net.predict(x);
      expect(p.shape).toEqual([1, 13, 21, 3]);
      const ref = tf.image.resizeBilinear(net.logits(x), [13, 21], false, true);
      expect(tf.max(tf.abs(tf.sub(p, ref))).dataSync()[0]).toBeLessThan(1e-5);
      expect(() => net.predict(tf.zeros([4, 4, 3]) as unknown as tf.Tensor4D)).toThrow(/rank 4/);
    });
    net.dispose();
  });
});

describe('save / load', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('saves to and loads from file:// in Node (model.json + weights.bin), identical predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'road-backbone-'));
    dirs.push(dir);
    const net = createSegmentationNet('road-lite', { ...tiny, attention: 'hydraplus', attentionMaps: 2 });
    await net.save(`file://${dir}`);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadSegmentationNet(`file://${dir}/model.json`);
    expect(loaded.name).toBe('road-lite');
    expect(loaded.options).toEqual(net.options);
    tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      expect(Array.from(loaded.predict(x).dataSync())).toEqual(Array.from(net.predict(x).dataSync()));
    });
    net.dispose();
    loaded.dispose();
  });

  it('gives clear errors for the wrong net, class count, architecture, or a non-net model', async () => {
    const net = createSegmentationNet('road-lite', tiny);
    const store = memoryStore();
    await net.save(store.handler);
    const mem = () => tf.io.fromMemory(store.artifacts());
    await expect(loadSegmentationNet(mem(), { numClasses: 19 })).rejects.toThrow(/has 3 classes, expected 19/);
    await expect(loadSegmentationNet(mem(), { name: 'vgg16-fcn' })).rejects.toThrow(
      /holds net 'road-lite', expected 'vgg16-fcn'/,
    );
    const other = createSegmentationNet('road-lite', { ...tiny, numClasses: 5 });
    await expect(other.loadWeights(mem())).rejects.toThrow(/has 3 classes, this net has 5/);
    const wider = createSegmentationNet('road-lite', { ...tiny, widthMultiplier: 0.5 });
    await expect(wider.loadWeights(mem())).rejects.toThrow(
      /weight 'stem_conv\/kernel' has shape \[3,3,3,4\] but the net expects \[3,3,3,8\]/,
    );
    const hp = createSegmentationNet('road-lite', { ...tiny, attention: 'hydraplus', attentionMaps: 2 });
    await expect(hp.loadWeights(mem())).rejects.toThrow(/missing \[.*hp_att3\/kernel/);
    const vgg = createSegmentationNet('vgg16-fcn', { numClasses: 3, widthMultiplier: 1 / 16 });
    await expect(vgg.loadWeights(mem())).rejects.toThrow(/holds net 'road-lite', not 'vgg16-fcn'/);
    const plain = createBackbone('road-lite', { widthMultiplier: 0.25 });
    const s2 = memoryStore();
    await plain.save(s2.handler);
    await expect(loadSegmentationNet(tf.io.fromMemory(s2.artifacts()))).rejects.toThrow(
      /not a @road\/backbone segmentation net/,
    );
    await expect(loadSegmentationNet('ftp://x/model.json')).rejects.toThrow(
      /no load handler for 'ftp:\/\/x\/model.json'/,
    );
    await expect(loadSegmentationNet('file:///nonexistent/road/dir')).rejects.toThrow(
      /cannot read \/nonexistent\/road\/dir\/model.json/,
    );
    for (const m of [net, other, wider, hp, vgg]) m.dispose();
    plain.dispose();
  });
});

describe('createBackbone / copyBackboneWeights', () => {
  it('a backbone built alone has the net backbone’s layers; copying it makes features equal', () => {
    const teacher = createBackbone('road-lite', { widthMultiplier: 0.25, seed: 11 });
    const net: SegmentationNet = createSegmentationNet('road-lite', tiny);
    expect(teacher.layers.map((l) => l.name)).toEqual(net.backbone.layers.map((l) => l.name));
    const report = copyBackboneWeights(teacher, net);
    expect(report.unmatchedSource).toEqual([]);
    expect(report.unmatchedTarget).toEqual([]);
    tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      expect(Array.from(net.features(x).dataSync())).toEqual(Array.from((teacher.predict(x) as tf.Tensor).dataSync()));
    });
    teacher.dispose();
    // the net's weights survive the source's disposal
    tf.tidy(() => {
      expect(net.features(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D).shape).toEqual([1, 1, 1, 16]);
    });
    net.dispose();
  });

  it('into a HydraPlus net: main layers copied, attentive batch norms from their main twins, attention layers reported', () => {
    const teacher = createBackbone('road-lite', { widthMultiplier: 0.25, seed: 12 });
    const net = createSegmentationNet('road-lite', { ...tiny, attention: 'hydraplus', attentionMaps: 2 });
    const report = copyBackboneWeights(teacher, net);
    expect(report.copied).toContain('block4_2_bn → block4_2_bn_hp');
    expect(report.unmatchedTarget.sort()).toEqual(['hp_att3', 'hp_fuse_bn', 'hp_fuse_conv']);
    const a = net.backbone.getLayer('block4_2_bn_hp').getWeights();
    const b = teacher.getLayer('block4_2_bn').getWeights();
    a.forEach((t, i) => {
      expect(Array.from(t.dataSync())).toEqual(Array.from(b[i].dataSync()));
    });
    teacher.dispose();
    net.dispose();
  });

  it('throws naming the layer on a shape mismatch, and writes nothing', () => {
    const teacher = createBackbone('road-lite', { widthMultiplier: 0.5 });
    const net = createSegmentationNet('road-lite', tiny);
    const before = Array.from(net.backbone.getLayer('stem_conv').getWeights()[0].dataSync());
    expect(() => copyBackboneWeights(teacher, net)).toThrow(
      /layer 'stem_conv', weight 'kernel': shape \[3,3,3,8\] in the source but \[3,3,3,4\] in the target/,
    );
    expect(Array.from(net.backbone.getLayer('stem_conv').getWeights()[0].dataSync())).toEqual(before);
    teacher.dispose();
    net.dispose();
  });
});
