import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  checkOptionKeys,
  type NetArchitecture,
  type SegmentationNetOptions,
  scaled,
  widthOf,
} from '../net-architecture.js';
import { NetBuilder } from '../net-builder.js';

const call = NetBuilder.call;
/** Keras applications' ResNet batch-norm epsilon (the default `bnEpsilon`). */
const KERAS_BN_EPS = 1.001e-5;

/** Bottleneck blocks per stage (conv2…conv5) for ResNet-50 and ResNet-101. */
export const RESNET_BLOCKS: Readonly<Record<number, readonly number[]>> = { 50: [3, 4, 6, 3], 101: [3, 4, 23, 3] };

/**
 * One bottleneck block named like Keras `keras.applications.ResNet50` (`conv3_block1_1_conv`, `…_0_conv` for the
 * projection shortcut, `…_add`, `…_out`): 1×1 (stride s) → 3×3 (dilation d) → 1×1 (4·f), plus shortcut, ReLU.
 */
function bottleneck(
  x: SymbolicTensor,
  b: NetBuilder,
  name: string,
  filters: number,
  stride: number,
  dilation: number,
  projection: boolean,
  eps: number,
  strideIn: '1x1' | '3x3',
): SymbolicTensor {
  const s1 = strideIn === '1x1' ? stride : 1;
  const s3 = strideIn === '3x3' ? stride : 1;
  let shortcut = x;
  if (projection) {
    shortcut = call(
      b.conv(`${name}_0_conv`, { filters: 4 * filters, kernelSize: 1, strides: stride, padding: 'valid' }),
      x,
    );
    shortcut = call(b.bn(`${name}_0_bn`, eps), shortcut);
  }
  let y = call(b.conv(`${name}_1_conv`, { filters, kernelSize: 1, strides: s1, padding: 'valid' }), x);
  y = call(b.relu(`${name}_1_relu`), call(b.bn(`${name}_1_bn`, eps), y));
  if (s3 > 1) {
    // PyTorch pads a strided 3×3 conv by 1 on every side ('same' would pad only bottom/right on even sizes)
    y = call(b.zeroPad(`${name}_2_pad`, 1), y);
    y = call(b.conv(`${name}_2_conv`, { filters, kernelSize: 3, strides: s3, padding: 'valid' }), y);
  } else {
    y = call(b.conv(`${name}_2_conv`, { filters, kernelSize: 3, padding: 'same', dilation }), y);
  }
  y = call(b.relu(`${name}_2_relu`), call(b.bn(`${name}_2_bn`, eps), y));
  y = call(b.conv(`${name}_3_conv`, { filters: 4 * filters, kernelSize: 1, padding: 'valid' }), y);
  y = call(b.bn(`${name}_3_bn`, eps), y);
  return call(b.relu(`${name}_out`), call(b.add(`${name}_add`), [shortcut, y]));
}

/**
 * `deeplabv2-resnet`: DeepLab v2 (Chen et al., TPAMI 2018) on a ResNet-50/101 trunk with Keras layer names.
 * Output stride 8 (default): conv4 has stride 1 and dilation 2, conv5 stride 1 and dilation 4 (16: only conv5
 * dilated by 2; 32: plain ResNet). Dilated 3×3 convs are {@link AtrousConv2D}. Head: ASPP, four parallel 3×3
 * convs to classes with rates 6, 12, 18, 24 (`aspp_rate6` …), summed (`aspp_sum`).
 * HydraPlus defaults: maps from conv4 onto conv3, conv4, conv5; `attentionFusion: 'sum'`.
 * Options: `depth` (50 | 101), `outputStride`, `widthMultiplier`, `asppRates`, `bnEpsilon`, `strideIn`.
 */
export function deeplabV2Resnet(options: SegmentationNetOptions): NetArchitecture {
  checkOptionKeys('deeplabv2-resnet', options, ['depth', 'asppRates', 'bnEpsilon', 'strideIn']);
  const eps = options.bnEpsilon ?? KERAS_BN_EPS;
  if (!(typeof eps === 'number' && eps > 0 && eps < 1))
    throw new Error(`deeplabv2-resnet: bnEpsilon must be in (0, 1), got ${eps}`);
  const strideIn = options.strideIn ?? '1x1';
  if (strideIn !== '1x1' && strideIn !== '3x3') {
    throw new Error(`deeplabv2-resnet: strideIn must be '1x1' or '3x3', got ${JSON.stringify(strideIn)}`);
  }
  const w = widthOf('deeplabv2-resnet', options);
  const depth = options.depth ?? 50;
  const blocks = RESNET_BLOCKS[depth];
  if (!blocks) throw new Error(`deeplabv2-resnet: depth must be 50 or 101, got ${depth}`);
  const os = options.outputStride ?? 8;
  const plan: Record<number, { strides: number[]; dilations: number[] }> = {
    8: { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] },
    16: { strides: [1, 2, 2, 1], dilations: [1, 1, 1, 2] },
    32: { strides: [1, 2, 2, 2], dilations: [1, 1, 1, 1] },
  };
  if (!plan[os]) throw new Error(`deeplabv2-resnet: outputStride must be 8, 16 or 32, got ${os}`);
  const rates = options.asppRates ?? [6, 12, 18, 24];
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new Error(`deeplabv2-resnet: asppRates must be positive integers, got [${rates}]`);
  }
  const { strides, dilations } = plan[os];
  const stem = (x: SymbolicTensor, b: NetBuilder) => {
    x = call(b.zeroPad('conv1_pad', 3), x);
    x = call(b.conv('conv1_conv', { filters: scaled(64, w), kernelSize: 7, strides: 2, padding: 'valid' }), x);
    x = call(b.relu('conv1_relu'), call(b.bn('conv1_bn', eps), x));
    x = call(b.zeroPad('pool1_pad', 1), x);
    return call(b.maxPool('pool1_pool', 3, 2), x);
  };
  const stages = [stem as NetArchitecture['stages'][number]];
  blocks.forEach((n, si) => {
    const filters = scaled(64 * 2 ** si, w);
    stages.push((x, b) => {
      for (let i = 1; i <= n; i++) {
        x = bottleneck(
          x,
          b,
          `conv${si + 2}_block${i}`,
          filters,
          i === 1 ? strides[si] : 1,
          dilations[si],
          i === 1,
          eps,
          strideIn,
        );
      }
      return x;
    });
  });
  return {
    stages,
    head: (f, b) => {
      const branches = rates.map((r) =>
        call(b.conv(`aspp_rate${r}`, { filters: options.numClasses, kernelSize: 3, dilation: r }), f),
      );
      return branches.length === 1 ? branches[0] : call(b.add('aspp_sum'), branches);
    },
    outputStride: os,
    featureChannels: 4 * scaled(512, w),
    batchNorm: true,
    attentionSource: 4,
    attentionFusion: 'sum',
    initializer: 'glorotUniform',
  };
}
