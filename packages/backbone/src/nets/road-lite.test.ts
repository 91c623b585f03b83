import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { netSuite } from '../../test/net-suite.js';
import { countFlops } from '../count-flops.js';
import { createSegmentationNet } from '../segmentation-net.js';

netSuite({
  title: 'road-lite (widthMultiplier 1/4, 2×16×24 input)',
  name: 'road-lite',
  options: { numClasses: 5, widthMultiplier: 0.25, seed: 1 },
  input: [2, 16, 24, 3],
  featureSize: [2, 3],
  featureChannels: 16,
  outputStride: 8,
});

describe('road-lite at full width', () => {
  it('has stride-8, 64-channel features on odd sizes and the documented FLOPs per pixel', () => {
    const net = createSegmentationNet('road-lite', { numClasses: 19, seed: 1 });
    tf.tidy(() => {
      const x = tf.zeros([1, 21, 35, 3]) as tf.Tensor4D;
      expect(net.features(x).shape).toEqual([1, 3, 5, 64]); // ⌈21/8⌉, ⌈35/8⌉
    });
    // Per input pixel at 160×80 (feature positions = pixels/64, stage-1 positions = pixels/4, …), 2·k²·Ci·Co each:
    // stem 2·9·3·16/4 = 216; block2_1 2·9·16·32/16 = 576; block2_2 2·9·32·32/16 = 1152; block3_1 2·9·32·64/64 = 576;
    // block3_2, block4_1, block4_2: 3 × 2·9·64·64/64 = 3456; head_1 2·64·64/64 = 128; head_logits 2·64·19/64 = 38.
    const flops = countFlops(net, [80, 160, 3]);
    expect(flops.perPixel).toBe(216 + 576 + 1152 + 576 + 3456 + 128 + 38);
    expect(flops.params).toBe(net.countParams());
    net.dispose();
  });

  it('rejects options it does not have', () => {
    expect(() => createSegmentationNet('road-lite', { numClasses: 3, outputStride: 16 })).toThrow(
      /outputStride must be 8/,
    );
    expect(() => createSegmentationNet('road-lite', { numClasses: 3, depth: 50 })).toThrow(/unknown option 'depth'/);
    expect(() => createSegmentationNet('road-lite', { numClasses: 3, widthMultiplier: -1 })).toThrow(/widthMultiplier/);
  });
});
