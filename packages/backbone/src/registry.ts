import type { SegmentationNetFactory } from './net-architecture.js';
import { dannDigits } from './nets/dann-digits.js';
import { deeplabV2Resnet } from './nets/deeplabv2-resnet.js';
import { digitsSeg } from './nets/digits-seg.js';
import { roadLite } from './nets/road-lite.js';
import { vgg16Fcn } from './nets/vgg16-fcn.js';

const registry = new Map<string, SegmentationNetFactory>();

/**
 * Registers a segmentation net under `name` (like timm's `register_model`). The factory validates the options and
 * returns the architecture (stages + head); {@link createSegmentationNet} builds it, with HydraPlus attention when
 * asked, so every registered net gets `attention: 'hydraplus'` for free.
 * Throws if `name` is taken (pass `{ override: true }` to replace).
 */
export function registerSegmentationNet(
  name: string,
  factory: SegmentationNetFactory,
  opts: { override?: boolean } = {},
): void {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
    throw new Error(`registerSegmentationNet: invalid name '${String(name)}'`);
  }
  if (typeof factory !== 'function')
    throw new Error(`registerSegmentationNet: factory for '${name}' is not a function`);
  if (registry.has(name) && !opts.override) throw new Error(`registerSegmentationNet: '${name}' is already registered`);
  registry.set(name, factory);
}

/** Names of all registered nets, sorted. */
export function listSegmentationNets(): string[] {
  return [...registry.keys()].sort();
}

/** The factory registered under `name`; throws naming the known nets if there is none. */
export function getSegmentationNetFactory(name: string): SegmentationNetFactory {
  const f = registry.get(name);
  if (!f) throw new Error(`unknown segmentation net '${name}' (registered: ${listSegmentationNets().join(', ')})`);
  return f;
}

registerSegmentationNet('road-lite', roadLite);
registerSegmentationNet('vgg16-fcn', vgg16Fcn);
registerSegmentationNet('deeplabv2-resnet', deeplabV2Resnet);
registerSegmentationNet('dann-digits', dannDigits);
registerSegmentationNet('digits-seg', digitsSeg);
