import { resnetName, vgg16Name } from '../keras-import.js';
import type { InputNormalization } from '../preprocess.js';
import type { WeightFile } from './weight-file.js';

/** How a source tensor becomes a target weight. */
export type WeightTransform =
  /** same layout (Keras HWIO kernels, vectors) */
  | 'none'
  /** PyTorch conv kernel [O, I, kh, kw] → [kh, kw, I, O] */
  | 'oihw'
  /** PyTorch Linear [O, C·kh·kw] (NCHW flatten) → conv kernel [kh, kw, C, O] of the target's shape */
  | 'linear-to-conv'
  /** Keras Dense [h·w·C, O] (NHWC flatten) → conv kernel [kh, kw, C, O]: a row-major reshape */
  | 'dense-to-conv';

/** Short names of our weights (Keras names). */
export type TargetWeight = 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';

/** Where one source tensor goes, or why it is skipped; `null` = no rule (reported as unexpected). */
export type MapRule = { layer: string; weight: TargetWeight; transform: WeightTransform } | { skip: string } | null;

/** What a map may ask about the target net. */
export interface MapContext {
  /** Shape of the target weight, or undefined if the net has no such layer/weight. */
  targetShape(layer: string, weight: TargetWeight): number[] | undefined;
  numClasses: number;
  /** deeplabv2-resnet ASPP rates (default [6, 12, 18, 24]). */
  asppRates: readonly number[];
}

/** A name map from one family of weight files to our nets. */
export interface WeightNameMap {
  name: WeightMapName;
  /** Who publishes files with this layout. */
  origin: string;
  /** The input normalisation those weights expect. */
  normalization: InputNormalization;
  /** Net options the weights need for identical outputs (deeplabv2-resnet only). */
  resnetOptions?: { bnEpsilon: number; strideIn: '1x1' | '3x3' };
  /** `shape`: the source tensor's shape. */
  map(key: string, ctx: MapContext, shape: readonly number[]): MapRule;
}

export type WeightMapName = 'torchvision-vgg16' | 'torchvision-resnet' | 'deeplab-v2' | 'keras';

/** torchvision `vgg16().features` indices of the 13 convs, in order. */
const VGG_CONV_INDEX = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
const VGG_CONV_NAMES = [2, 2, 3, 3, 3].flatMap((n, b) =>
  Array.from({ length: n }, (_, i) => `block${b + 1}_conv${i + 1}`),
);

const PT_PARAM: Record<string, TargetWeight> = { weight: 'kernel', bias: 'bias' };
const PT_BN: Record<string, TargetWeight> = {
  weight: 'gamma',
  bias: 'beta',
  running_mean: 'moving_mean',
  running_var: 'moving_variance',
};

function conv(layer: string, param: string): MapRule {
  const weight = PT_PARAM[param];
  return weight ? { layer, weight, transform: weight === 'kernel' ? 'oihw' : 'none' } : null;
}

function bn(layer: string, param: string): MapRule {
  if (param === 'num_batches_tracked') return { skip: 'batch-norm step counter (not a weight)' };
  const weight = PT_BN[param];
  return weight ? { layer, weight, transform: 'none' } : null;
}

/**
 * VGG16's fully connected fc6/fc7 go into our `fc6`/`fc7` convs only when the net's head has their shape
 * (`fc6Kernel: 7, headChannels: 4096` at full width); otherwise they are skipped by rule.
 */
function fcRule(
  layer: 'fc6' | 'fc7',
  weight: TargetWeight,
  transform: WeightTransform,
  ctx: MapContext,
  srcOut: string,
): MapRule {
  const fc6 = ctx.targetShape('fc6', 'kernel');
  if (fc6?.[0] !== 7 || fc6[1] !== 7) {
    return {
      skip: `VGG16 ${srcOut} (the ImageNet head's fully connected layer): the net's fc6 is ${fc6 ? `${fc6[0]}×${fc6[1]}` : 'absent'}, not 7×7 (set fc6Kernel: 7, headChannels: 4096 to load it)`,
    };
  }
  return { layer, weight, transform };
}

const torchvisionVgg16: WeightNameMap = {
  name: 'torchvision-vgg16',
  origin: 'torchvision / timm VGG16 (features.N, classifier.N or pre_logits.fcN)',
  normalization: 'torch',
  map(key, ctx) {
    let m = /^features\.(\d+)\.(weight|bias)$/.exec(key);
    if (m) {
      const i = VGG_CONV_INDEX.indexOf(Number(m[1]));
      return i < 0 ? null : conv(VGG_CONV_NAMES[i], m[2]);
    }
    m = /^classifier\.(\d+)\.(weight|bias)$/.exec(key);
    if (m) {
      const w = PT_PARAM[m[2]];
      if (m[1] === '0') return fcRule('fc6', w, w === 'kernel' ? 'linear-to-conv' : 'none', ctx, key);
      if (m[1] === '3') return fcRule('fc7', w, w === 'kernel' ? 'linear-to-conv' : 'none', ctx, key);
      if (m[1] === '6') return { skip: 'ImageNet classifier (fc8)' };
      return null;
    }
    m = /^pre_logits\.fc([12])\.(weight|bias)$/.exec(key); // timm
    if (m) return fcRule(m[1] === '1' ? 'fc6' : 'fc7', PT_PARAM[m[2]], m[2] === 'weight' ? 'oihw' : 'none', ctx, key);
    if (/^head\.fc\.(weight|bias)$/.test(key)) return { skip: 'ImageNet classifier (fc8)' };
    return null;
  },
};

/** ResNet trunk keys (torchvision / timm / DeepLab-v2 after `Scale.`) → Keras-style names. */
function resnetTrunk(key: string): MapRule {
  let m = /^(conv1|bn1)\.(\w+)$/.exec(key);
  if (m) return m[1] === 'conv1' ? conv('conv1_conv', m[2]) : bn('conv1_bn', m[2]);
  m = /^layer([1-4])\.(\d+)\.(conv[123]|bn[123]|downsample\.[01])\.(\w+)$/.exec(key);
  if (!m) return null;
  const block = `conv${Number(m[1]) + 1}_block${Number(m[2]) + 1}`;
  const part = m[3];
  if (part === 'downsample.0') return conv(`${block}_0_conv`, m[4]);
  if (part === 'downsample.1') return bn(`${block}_0_bn`, m[4]);
  return part.startsWith('conv') ? conv(`${block}_${part[4]}_conv`, m[4]) : bn(`${block}_${part[2]}_bn`, m[4]);
}

const torchvisionResnet: WeightNameMap = {
  name: 'torchvision-resnet',
  origin: 'torchvision / timm ResNet-50/101 (conv1, bn1, layerN.i.*, fc)',
  normalization: 'torch',
  resnetOptions: { bnEpsilon: 1e-5, strideIn: '3x3' },
  map(key) {
    if (/^fc\.(weight|bias)$/.test(key)) return { skip: 'ImageNet classifier (fc)' };
    return resnetTrunk(key);
  },
};

const deeplabV2: WeightNameMap = {
  name: 'deeplab-v2',
  origin: 'DeepLab-v2 ResNet-101 as AdaptSegNet/ADVENT publish it (Scale.*, layer5 = ASPP classifier)',
  normalization: 'caffe',
  resnetOptions: { bnEpsilon: 1e-5, strideIn: '1x1' },
  map(key, ctx, shape) {
    const k = key.startsWith('Scale.') ? key.slice('Scale.'.length) : key;
    const m = /^layer5\.conv2d_list\.(\d+)\.(weight|bias)$/.exec(k);
    if (m) {
      const j = Number(m[1]);
      const rate = ctx.asppRates[j];
      const layer = `aspp_rate${rate}`;
      if (rate === undefined || !ctx.targetShape(layer, 'kernel')) {
        return { skip: `DeepLab classifier branch ${j} (the net has no ASPP branch ${j})` };
      }
      if (shape[0] !== ctx.numClasses) {
        return { skip: `DeepLab classifier (layer5) for ${shape[0]} classes; the net has ${ctx.numClasses}` };
      }
      return conv(layer, m[2]);
    }
    if (/^layer5\./.test(k)) return null;
    return resnetTrunk(k);
  },
};

const keras: WeightNameMap = {
  name: 'keras',
  origin: 'Keras applications HDF5 (layer/weight:0; VGG16, ResNet50/101)',
  normalization: 'caffe',
  resnetOptions: { bnEpsilon: 1.001e-5, strideIn: '1x1' },
  map(key, ctx) {
    const m = /^(?:.*\/)?([^/]+)\/(kernel|bias|gamma|beta|moving_mean|moving_variance)(?::0)?$/.exec(key);
    if (!m) return null;
    const [, src, weight] = m;
    if (src === 'predictions' || src === 'fc1000' || src === 'fc8') return { skip: 'ImageNet classifier' };
    const candidates = [src, vgg16Name(src), resnetName(src)];
    const layer = candidates.find((n) => ctx.targetShape(n, weight as TargetWeight)) ?? resnetName(vgg16Name(src));
    if (layer === 'fc6' || layer === 'fc7') {
      return fcRule(layer, weight as TargetWeight, weight === 'kernel' ? 'dense-to-conv' : 'none', ctx, src);
    }
    return { layer, weight: weight as TargetWeight, transform: 'none' };
  },
};

/** All maps, by name. */
export const WEIGHT_MAPS: Readonly<Record<WeightMapName, WeightNameMap>> = {
  'torchvision-vgg16': torchvisionVgg16,
  'torchvision-resnet': torchvisionResnet,
  'deeplab-v2': deeplabV2,
  keras,
};

/** The map a file's layout calls for, or undefined if none fits (every tensor then counts as unexpected). */
export function detectWeightMap(file: WeightFile): WeightNameMap | undefined {
  if (file.format === 'keras-h5') return keras;
  const keys = [...file.tensors.keys()];
  if (keys.some((k) => k.startsWith('Scale.') || k.startsWith('layer5.conv2d_list.'))) return deeplabV2;
  if (keys.includes('features.0.weight')) return torchvisionVgg16;
  if (keys.includes('conv1.weight') && keys.includes('layer1.0.conv1.weight')) return torchvisionResnet;
  if (keys.some((k) => /\/(kernel|bias)(:0)?$/.test(k))) return keras;
  return undefined;
}
