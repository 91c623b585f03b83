import {
  checkOptionKeys,
  type NetArchitecture,
  type SegmentationNetOptions,
  scaled,
  widthOf,
} from '../net-architecture.js';
import { convBnRelu, NetBuilder } from '../net-builder.js';

const call = NetBuilder.call;

/**
 * `road-lite`: a CPU-sized segmentation net for the built-in benchmarks. Four stages of 3×3 conv + BN + ReLU
 * (channels 16 → 32 → 64 → 64 at strides 2, 4, 8, 8; the last stage uses dilations 2 and 4 for context via
 * {@link AtrousConv2D}), stride-8 features of 64 channels, head = 1×1 conv (64, BN, ReLU) → 1×1 conv to classes.
 * Options: `widthMultiplier`, `outputStride` (8 only).
 */
export function roadLite(options: SegmentationNetOptions): NetArchitecture {
  checkOptionKeys('road-lite', options, []);
  const w = widthOf('road-lite', options);
  if (options.outputStride !== undefined && options.outputStride !== 8) {
    throw new Error(`road-lite: outputStride must be 8, got ${options.outputStride}`);
  }
  const [c1, c2, c3, c4] = [16, 32, 64, 64].map((c) => scaled(c, w));
  return {
    stages: [
      (x, b) => convBnRelu(x, b, 'stem', c1, { strides: 2 }),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block2_1', c2, { strides: 2 }), b, 'block2_2', c2),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block3_1', c3, { strides: 2 }), b, 'block3_2', c3),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block4_1', c4, { dilation: 2 }), b, 'block4_2', c4, { dilation: 4 }),
    ],
    head: (f, b) => {
      const y = convBnRelu(f, b, 'head_1', c4, { kernelSize: 1 });
      return call(b.conv('head_logits', { filters: options.numClasses, kernelSize: 1 }), y);
    },
    outputStride: 8,
    featureChannels: c4,
    batchNorm: true,
    attentionSource: 3,
    initializer: 'heNormal',
  };
}
