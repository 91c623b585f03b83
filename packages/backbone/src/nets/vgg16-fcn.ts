import {
  checkOptionKeys,
  type NetArchitecture,
  type SegmentationNetOptions,
  scaled,
  widthOf,
} from '../net-architecture.js';
import { NetBuilder } from '../net-builder.js';
import { fuseConvRelu } from './vgg16-fused-conv.js';

const call = NetBuilder.call;

/** VGG16 conv widths per block (Simonyan & Zisserman, configuration D). */
export const VGG16_BLOCKS: readonly number[][] = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

/**
 * `vgg16-fcn`: the VGG16 trunk (`block1_conv1` … `block5_conv3`, Keras names and shapes, ReLU inside the conv as in
 * Keras) and an FCN-style head: `fc6` (k×k conv, ReLU, dropout) → `fc7` (1×1 conv, ReLU, dropout) → `score`
 * (1×1 conv to classes), at the trunk's resolution. Every stride-1, dilation-1 conv + bias + ReLU runs as one op
 * ({@link fuseConvRelu}), which keeps one activation per conv for the backward pass instead of two.
 *
 * Output stride: 32 keeps all five pools (FCN-32s trunk); 16 (default) drops `block5_pool`; 8 also drops
 * `block4_pool` and dilates `block5_conv*` by 2 ({@link AtrousConv2D}, DeepLab-LargeFOV style), which keeps every
 * ImageNet kernel usable. This is not FCN-8s: there are no skip connections from pool3/pool4.
 * Options: `outputStride`, `widthMultiplier`, `headChannels` (1024), `fc6Kernel` (3), `dropout` (0.5).
 */
export function vgg16Fcn(options: SegmentationNetOptions): NetArchitecture {
  checkOptionKeys('vgg16-fcn', options, ['headChannels', 'fc6Kernel', 'dropout']);
  const w = widthOf('vgg16-fcn', options);
  const os = options.outputStride ?? 16;
  if (os !== 8 && os !== 16 && os !== 32) throw new Error(`vgg16-fcn: outputStride must be 8, 16 or 32, got ${os}`);
  const headChannels = scaled(options.headChannels ?? 1024, w);
  const fc6Kernel = options.fc6Kernel ?? 3;
  if (!Number.isInteger(fc6Kernel) || fc6Kernel < 1)
    throw new Error(`vgg16-fcn: fc6Kernel must be a positive integer, got ${fc6Kernel}`);
  const dropout = options.dropout ?? 0.5;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`vgg16-fcn: dropout must be in [0, 1), got ${dropout}`);
  const pools = os === 32 ? 5 : os === 16 ? 4 : 3;
  const stages = VGG16_BLOCKS.map((widths, bi) => {
    const block = bi + 1;
    return (x: Parameters<NetArchitecture['head']>[0], b: NetBuilder) => {
      widths.forEach((c, ci) => {
        const dilation = os === 8 && block === 5 ? 2 : 1;
        const conv = b.conv(`block${block}_conv${ci + 1}`, {
          filters: scaled(c, w),
          kernelSize: 3,
          activation: 'relu',
          dilation,
        });
        x = call(dilation === 1 ? fuseConvRelu(conv) : conv, x);
      });
      if (block <= pools) x = call(b.maxPool(`block${block}_pool`, 2, 2), x);
      return x;
    };
  });
  return {
    stages,
    head: (f, b) => {
      let y = call(
        fuseConvRelu(b.conv('fc6', { filters: headChannels, kernelSize: fc6Kernel, activation: 'relu' })),
        f,
      );
      if (dropout > 0) y = call(b.dropout('fc6_dropout', dropout), y);
      y = call(fuseConvRelu(b.conv('fc7', { filters: headChannels, kernelSize: 1, activation: 'relu' })), y);
      if (dropout > 0) y = call(b.dropout('fc7_dropout', dropout), y);
      return call(b.conv('score', { filters: options.numClasses, kernelSize: 1 }), y);
    },
    outputStride: os,
    featureChannels: scaled(512, w),
    batchNorm: false,
    attentionSource: 4,
    initializer: 'glorotUniform',
  };
}
