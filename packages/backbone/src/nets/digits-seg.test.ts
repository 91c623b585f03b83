import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, labelsFor, memoryStore, trainRun } from '../../test/helpers.js';
import { createSegmentationNet, loadSegmentationNet } from '../segmentation-net.js';

describe('digits-seg (dilated net for digit canvases)', () => {
  it('has stride-4, 64-channel features and stride-2 logits on a 64×64 canvas', () => {
    const net = createSegmentationNet('digits-seg', { numClasses: 11, seed: 1 });
    tf.tidy(() => {
      const x = tf.zeros([2, 64, 64, 3]) as tf.Tensor4D;
      const f = net.features(x);
      expect(f.shape).toEqual([2, 16, 16, 64]);
      expect(net.logitsFromFeatures(f).shape).toEqual([2, 32, 32, 11]);
      expect(net.logits(x).shape).toEqual([2, 32, 32, 11]);
      expect(net.predict(x).shape).toEqual([2, 64, 64, 11]);
    });
    expect(net.outputStride).toBe(4);
    expect(net.featureChannels).toBe(64);
    net.dispose();
  });

  it('has the hand-counted number of parameters (148,171 for 11 classes)', () => {
    const net = createSegmentationNet('digits-seg', { numClasses: 11, seed: 1 });
    // 3×3 convs without bias: stem 9·3·32; block2_1 9·32·48; block2_2, block3_1, block3_2 9·48·48 each;
    // block4_1 9·48·64; block4_2 9·64·64; head_1 (1×1) 64·32; head_logits 9·32·11 + 11 biases.
    // Batch norm: 4 per channel (γ, β, moving mean, moving variance) on 32 + 4·48 + 2·64 + 32 channels.
    const convs = 9 * 3 * 32 + 9 * 32 * 48 + 3 * 9 * 48 * 48 + 9 * 48 * 64 + 9 * 64 * 64 + 64 * 32 + 9 * 32 * 11 + 11;
    const bn = 4 * (32 + 4 * 48 + 2 * 64 + 32);
    expect(convs + bn).toBe(148171);
    expect(net.countParams()).toBe(148171);
    net.dispose();
  });

  it('learns a tiny batch (20 Adam steps) without leaking tensors, and saves/loads to identical outputs', async () => {
    const net = createSegmentationNet('digits-seg', { numClasses: 4, widthMultiplier: 0.25, seed: 1 });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 42) as tf.Tensor4D;
    const labels = labelsFor(net, x);
    const run = trainRun(net, x, labels, 20);
    expect(run.finalLoss).toBeLessThan(0.7 * run.losses[0]);
    expect(run.tensorsAfterStep[19]).toBe(run.tensorsAfterStep[0]);
    expectNoLeak(() => tf.dispose([net.predict(x), net.features(x)]));
    const store = memoryStore();
    await net.save(store.handler);
    const loaded = await loadSegmentationNet(tf.io.fromMemory(store.artifacts()), { name: 'digits-seg' });
    const [a, b] = [net.predict(x), loaded.predict(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, x, labels]);
    loaded.dispose();
    net.dispose();
  });

  it('rejects options it does not have', () => {
    expect(() => createSegmentationNet('digits-seg', { numClasses: 3, outputStride: 8 })).toThrow(
      /digits-seg: outputStride must be 4, got 8/,
    );
    expect(() => createSegmentationNet('digits-seg', { numClasses: 3, depth: 50 })).toThrow(/unknown option 'depth'/);
    expect(() => createSegmentationNet('digits-seg', { numClasses: 3, widthMultiplier: 0 })).toThrow(/widthMultiplier/);
  });
});
