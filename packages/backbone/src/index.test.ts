import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public API', () => {
  it('lists the built-in nets and builds one by name whose prediction has the input size', () => {
    expect(api.listSegmentationNets()).toEqual([
      'dann-digits',
      'deeplabv2-resnet',
      'digits-seg',
      'road-lite',
      'vgg16-fcn',
    ]);
    const before = tf.memory().numTensors;
    const net = api.createSegmentationNet('road-lite', { numClasses: 5, seed: 0, widthMultiplier: 0.25 });
    const x = tf.zeros([1, 32, 24, 3]) as tf.Tensor4D;
    const y = net.predict(x);
    expect(y.shape).toEqual([1, 32, 24, 5]);
    tf.dispose([x, y]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => api.createSegmentationNet('no-such-net', { numClasses: 2 })).toThrow(/no-such-net/);
  });

  it('countFlops: a 3×3 conv from 2 to 4 channels on 5×5 costs 2·9·2·4·25 = 3,600 FLOPs', () => {
    const m = tfl.sequential({
      layers: [tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 4, kernelSize: 3, padding: 'same' })],
    });
    expect(api.countFlops(m, [5, 5, 2]).total).toBe(3600);
    m.dispose();
  });

  it('kerasCaffePreprocess: RGB (10, 20, 30) → BGR minus the Caffe mean (103.939, 116.779, 123.68)', () => {
    const x = tf.tensor4d([10, 20, 30], [1, 1, 1, 3]);
    const y = api.kerasCaffePreprocess(x);
    const v = Array.from(y.dataSync());
    [30 - 103.939, 20 - 116.779, 10 - 123.68].forEach((e, i) => {
      expect(v[i]).toBeCloseTo(e, 4);
    });
    tf.dispose([x, y]);
  });

  it('registerBackboneLayers is idempotent and registers the three custom layer classes', () => {
    api.registerBackboneLayers();
    api.registerBackboneLayers();
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.AtrousConv2D?.[0]).toBe(api.AtrousConv2D);
    expect(map.HydraPlusMdaMultiply?.[0]).toBe(api.MdaMultiply);
    expect(map.HydraPlusUnfoldMaps?.[0]).toBe(api.UnfoldAttentionMaps);
  });
});
