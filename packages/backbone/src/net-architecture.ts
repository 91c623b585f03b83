import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { StageFn } from './hydraplus.js';
import type { InitializerName } from './initializers.js';
import type { NetBuilder } from './net-builder.js';

/** Options of {@link createSegmentationNet}. Net-specific keys are listed per net; any other key is an error. */
export interface SegmentationNetOptions {
  /** Number of output classes (logit channels). */
  numClasses: number;
  /** Image channels (default 3). */
  inputChannels?: number;
  /** `'hydraplus'` adds HydraPlus multi-directional attention (see README); default `'none'`. */
  attention?: 'none' | 'hydraplus';
  /** L, attention maps per MDA module (default 8, as in the paper). */
  attentionMaps?: number;
  /** 1-based stages whose outputs generate attention maps (default: one per net, see README). */
  attentionSources?: number[];
  /** Levels the maps are multiplied onto, as offsets from the source stage (default [-1, 0, 1]). */
  attentionLevels?: number[];
  /**
   * How attentive and main features are fused: `'concat'` (+ 1×1 conv; default for road-lite and vgg16-fcn) or
   * `'sum'` (parameter-free average; default for deeplabv2-resnet, where a 1×1 conv over (1 + P·L)·2048 channels
   * would add 2048²·(1 + P·L) weights).
   */
  attentionFusion?: 'concat' | 'sum';
  /**
   * `'shared'` (default): one attentive path per (source, level) through the main branch's stages (shared weights,
   * own batch norm). `'separate'`: HydraPlus-Net's form, one attentive branch with its own weights per MDA module
   * (per source stage), see README.
   */
  attentionModules?: 'shared' | 'separate';
  /** Seed of all initializers and dropout masks: same seed ⇒ same initial weights. */
  seed?: number;
  /** Scales every channel count (all nets; default 1). Layer names stay the same, so weights still map by name. */
  widthMultiplier?: number;
  /** Feature stride: vgg16-fcn 8 | 16 (default) | 32; deeplabv2-resnet 8 (default) | 16 | 32; road-lite 8 only. */
  outputStride?: number;
  /** deeplabv2-resnet: 50 (default) or 101. */
  depth?: number;
  /** deeplabv2-resnet: ASPP rates (default [6, 12, 18, 24]). */
  asppRates?: number[];
  /** deeplabv2-resnet: batch-norm epsilon (default 1.001e-5, Keras; PyTorch/Caffe-converted weights use 1e-5). */
  bnEpsilon?: number;
  /**
   * deeplabv2-resnet: which conv of a bottleneck strides: `'1x1'` (default; ResNet v1 as Keras, Caffe and DeepLab-v2)
   * or `'3x3'` (torchvision and timm ResNets, "v1.5"; padded 1 on each side as PyTorch does).
   */
  strideIn?: '1x1' | '3x3';
  /** vgg16-fcn: fc6/fc7 width (default 1024; FCN used 4096). Scaled by widthMultiplier. */
  headChannels?: number;
  /** vgg16-fcn: fc6 kernel size (default 3; FCN used 7). */
  fc6Kernel?: number;
  /** vgg16-fcn: dropout after fc6 and fc7 (default 0.5). */
  dropout?: number;
}

/** What a registered net factory returns: the trunk as stages, the head, and facts about both. */
export interface NetArchitecture {
  /** Trunk stages in order; stage i maps level i−1 (level 0 = the image) to level i. */
  stages: StageFn[];
  /** Builds the head on the features (symbolic), returning logits at feature resolution. */
  head: (features: SymbolicTensor, b: NetBuilder) => SymbolicTensor;
  /** Input pixels per feature position along each axis. */
  outputStride: number;
  /** Channels of the trunk output (and of the HydraPlus fused map). */
  featureChannels: number;
  /** Whether the trunk uses batch norm (HydraPlus fusion then does too). */
  batchNorm: boolean;
  /** Default HydraPlus source stage (1-based). */
  attentionSource: number;
  /** Default HydraPlus fusion (default `'concat'`). */
  attentionFusion?: 'concat' | 'sum';
  /** Kernel initializer of the trunk and head convolutions. */
  initializer: InitializerName;
}

/** A registered net: validates its options and returns its architecture. */
export type SegmentationNetFactory = (options: SegmentationNetOptions) => NetArchitecture;

const COMMON_KEYS = [
  'numClasses',
  'inputChannels',
  'attention',
  'attentionMaps',
  'attentionSources',
  'attentionLevels',
  'attentionFusion',
  'attentionModules',
  'seed',
  'widthMultiplier',
  'outputStride',
] as const;

/** Throws a clear error for an option key the net does not know. */
export function checkOptionKeys(net: string, options: object, extra: readonly string[]): void {
  const known = new Set<string>([...COMMON_KEYS, ...extra]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new Error(`${net}: unknown option '${key}' (known: ${[...known].join(', ')})`);
    }
  }
}

/** Channel count `c` scaled by the width multiplier, at least 1. */
export function scaled(c: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(c * widthMultiplier));
}

/** Reads and checks `widthMultiplier` (default 1). */
export function widthOf(net: string, options: SegmentationNetOptions): number {
  const w = options.widthMultiplier ?? 1;
  if (typeof w !== 'number' || !(w > 0) || !Number.isFinite(w)) {
    throw new Error(`${net}: widthMultiplier must be a positive number, got ${String(w)}`);
  }
  return w;
}
