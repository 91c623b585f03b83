import { layers } from '@tensorflow/tfjs-layers';
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
 * `digits-seg`: a small dilated net for digit canvases (64×64, strokes 2–3 pixels wide, digits about 20 pixels
 * tall). Trunk: 3×3 conv + BN + ReLU stages, channels 32 → 48 → 48 → 64 at strides 2, 4, 4, 4; stages 3 and 4
 * use dilations 2, 4 and 8, 1 (via {@link AtrousConv2D}), so a stride-4 feature sees about 80 pixels — a whole digit
 * and its neighbours. Features: stride 4, 64 channels. Head: 1×1 conv (32, BN, ReLU) → nearest ×2 upsampling →
 * 3×3 conv to the classes, so logits come at stride 2 (road-lite's stride-8 logits are coarser than a stroke).
 * Options: `widthMultiplier`; `outputStride` (of the features) 4 only.
 */
export function digitsSeg(options: SegmentationNetOptions): NetArchitecture {
  checkOptionKeys('digits-seg', options, []);
  const w = widthOf('digits-seg', options);
  if (options.outputStride !== undefined && options.outputStride !== 4) {
    throw new Error(`digits-seg: outputStride must be 4, got ${options.outputStride}`);
  }
  const [c1, c2, c3, c4, ch] = [32, 48, 48, 64, 32].map((c) => scaled(c, w));
  return {
    stages: [
      (x, b) => convBnRelu(x, b, 'stem', c1, { strides: 2 }),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block2_1', c2, { strides: 2 }), b, 'block2_2', c2),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block3_1', c3, { dilation: 2 }), b, 'block3_2', c3, { dilation: 4 }),
      (x, b) => convBnRelu(convBnRelu(x, b, 'block4_1', c4, { dilation: 8 }), b, 'block4_2', c4),
    ],
    head: (f, b) => {
      const y = convBnRelu(f, b, 'head_1', ch, { kernelSize: 1 });
      const up = call(
        b.layer('head_up', (n) => layers.upSampling2d({ name: n, size: [2, 2] })),
        y,
      );
      return call(b.conv('head_logits', { filters: options.numClasses, kernelSize: 3 }), up);
    },
    outputStride: 4,
    featureChannels: c4,
    batchNorm: true,
    attentionSource: 3,
    initializer: 'heNormal',
  };
}
