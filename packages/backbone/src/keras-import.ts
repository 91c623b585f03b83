import type * as tf from '@tensorflow/tfjs-core';
import { LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import { resolveLoadSource } from './file-io.js';
import { copyWeightsByName, type ModelLike, modelOf, type WeightCopyReport } from './weights.js';

/** Layer-name translation applied to the Keras model's names before matching. */
export type KerasNameMap = 'auto' | 'none' | 'vgg16' | 'resnet50';

/**
 * VGG16 names → ours: Keras names (`block1_conv1`) as they are; Caffe/FCN names `conv1_1` → `block1_conv1`;
 * Keras top `fc1`/`fc2` → FCN `fc6`/`fc7` (Dense kernels are reshaped into conv kernels when the sizes agree).
 */
export function vgg16Name(name: string): string {
  const m = /^conv(\d)_(\d)$/.exec(name);
  if (m) return `block${m[1]}_conv${m[2]}`;
  if (name === 'fc1') return 'fc6';
  if (name === 'fc2') return 'fc7';
  return name;
}

/**
 * ResNet names → Keras 2.2.5+/tf.keras names (ours): old Keras / Caffe names `conv1`, `bn_conv1`,
 * `res3b_branch2a`, `bn4b22_branch2c`, `res2a_branch1` → `conv1_conv`, `conv1_bn`, `conv3_block2_1_conv`,
 * `conv4_block23_3_bn`, `conv2_block1_0_conv`. Blocks are lettered a, b, c… or a, b1, b2… (ResNet-101/152).
 */
export function resnetName(name: string): string {
  if (name === 'conv1') return 'conv1_conv';
  if (name === 'bn_conv1') return 'conv1_bn';
  const m = /^(res|bn)(\d)([a-z])(\d*)_branch(1|2a|2b|2c)$/.exec(name);
  if (!m) return name;
  const [, kind, stage, letter, num, branch] = m;
  const block = num ? Number(num) + 1 : letter.charCodeAt(0) - 96;
  const part = { '1': '0', '2a': '1', '2b': '2', '2c': '3' }[branch as '1' | '2a' | '2b' | '2c'];
  return `conv${stage}_block${block}_${part}_${kind === 'res' ? 'conv' : 'bn'}`;
}

function renamer(map: KerasNameMap): (n: string, targets: ReadonlySet<string>) => string {
  switch (map) {
    case 'none':
      return (n) => n;
    case 'vgg16':
      return (n) => vgg16Name(n);
    case 'resnet50':
      return (n) => resnetName(n);
    case 'auto':
      return (n, targets) => (targets.has(n) ? n : ([vgg16Name(n), resnetName(n)].find((t) => targets.has(t)) ?? n));
    default:
      throw new Error(`importKerasWeights: map must be 'auto', 'none', 'vgg16' or 'resnet50', got '${String(map)}'`);
  }
}

/**
 * Loads Keras ImageNet weights (VGG16 or ResNet50/101 converted to the tfjs layers format with
 * `tensorflowjs_converter --input_format keras`) into a net or model, matching layers by name after the `map`
 * translation (default `'auto'`: exact names, else the VGG16 and ResNet translations). Returns which layers matched
 * and which did not; throws naming the layer on a shape mismatch (e.g. a widthMultiplier ≠ 1 net).
 *
 * @param target the net (all of its layers, backbone and head) or any LayersModel.
 * @param keras a loaded LayersModel, a URL (`file://dir`, `http://…/model.json`) or an IOHandler.
 */
export async function importKerasWeights(
  target: ModelLike,
  keras: LayersModel | string | tf.io.IOHandler,
  opts: { map?: KerasNameMap } = {},
): Promise<WeightCopyReport> {
  const rename = renamer(opts.map ?? 'auto');
  const into = modelOf(target);
  if (keras instanceof LayersModel) return copyWeightsByName(keras, into, rename);
  const loaded = await loadLayersModel(resolveLoadSource(keras));
  try {
    return copyWeightsByName(loaded, into, rename);
  } finally {
    loaded.dispose();
  }
}
