/**
 * One entry point from a serialisable {@link DatasetSpec} to a {@link Dataset}: built-in benchmarks (SynthCity,
 * Digits) are generated here; on-disk layouts (cityscapes, gta5, synthia, folder) go to the readers
 * (`openOnDiskDataset`). Worker threads call it with the spec they were given.
 */
import {
  type BackgroundImage,
  type DigitsDomain,
  type DigitsSplit,
  digitsClassification,
  digitsSegmentation,
  loadBackgrounds,
} from './digits.js';
import { openOnDiskDataset } from './readers/open.js';
import { type SynthCitySplit, synthCityDataset } from './synthcity/index.js';
import type { Dataset, DatasetSpec } from './types.js';

const KINDS: readonly DatasetSpec['kind'][] = ['cityscapes', 'gta5', 'synthia', 'folder', 'synthcity', 'digits'];

const SYNTHCITY_OPTIONS = ['width', 'height', 'length', 'labels'];
const DIGITS_OPTIONS = ['domain', 'view', 'backgrounds', 'threshold', 'length', 'size', 'canvas', 'digits', 'seed'];

function checkKeys(kind: string, options: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new Error(`openDataset(${kind}): unknown option '${key}' (allowed: ${allowed.join(', ')})`);
    }
  }
}

/**
 * Opens the dataset a {@link DatasetSpec} describes.
 *
 * - `synthcity`: `split` ∈ source | target-train | target-val | pretrain (default source), `seed`,
 *   `options: { width?, height?, length?, labels? }` → {@link synthCityDataset}.
 * - `digits`: `split` ∈ train | test, `seed`, `options: { domain: 'mnist' | 'mnist-m', view?: 'segmentation' |
 *   'classification' (default segmentation), backgrounds?: folder, threshold?, length?, size? (classification),
 *   canvas?, digits? (segmentation) }` → {@link digitsSegmentation} / {@link digitsClassification}. A backgrounds
 *   folder is decoded here, so a bad folder fails at open.
 * - `cityscapes` | `gta5` | `synthia` | `folder`: `root` (required), `split`, `skipBad`, reader `options`
 *   → `openOnDiskDataset(kind, root, split, options)`.
 *
 * Throws one clear error for an unknown kind or option.
 */
export async function openDataset(spec: DatasetSpec): Promise<Dataset> {
  if (!spec || typeof spec !== 'object') throw new Error(`openDataset: expected a DatasetSpec object, got ${spec}`);
  const { kind } = spec;
  const options = spec.options ?? {};
  switch (kind) {
    case 'synthcity': {
      checkKeys(kind, options, SYNTHCITY_OPTIONS);
      if (options.labels !== undefined && typeof options.labels !== 'boolean')
        throw new Error(`openDataset(synthcity): option 'labels' must be true or false, got ${String(options.labels)}`);
      return synthCityDataset({
        split: (spec.split ?? 'source') as SynthCitySplit,
        seed: spec.seed ?? 0,
        width: options.width as number | undefined,
        height: options.height as number | undefined,
        length: options.length as number | undefined,
        labels: options.labels as boolean | undefined,
      });
    }
    case 'digits': {
      checkKeys(kind, options, DIGITS_OPTIONS);
      const view = options.view ?? 'segmentation';
      if (view !== 'segmentation' && view !== 'classification') {
        throw new Error(`openDataset(digits): options.view must be 'segmentation' or 'classification', got '${view}'`);
      }
      if (options.domain === undefined)
        throw new Error(`openDataset(digits): options.domain ('mnist', 'mnist-m' or 'neutral') is required`);
      if (options.seed !== undefined && !Number.isSafeInteger(options.seed))
        throw new Error(`openDataset(digits): options.seed must be an integer, got ${JSON.stringify(options.seed)}`);
      let backgrounds = options.backgrounds as string | BackgroundImage[] | undefined;
      if (typeof backgrounds === 'string') {
        const minSize =
          view === 'classification' ? ((options.size as number) ?? 28) : ((options.canvas as number) ?? 64);
        backgrounds = await loadBackgrounds(backgrounds, minSize);
      }
      const common = {
        domain: options.domain as DigitsDomain,
        split: (spec.split ?? 'train') as DigitsSplit,
        // options.seed: a fixed layout/background seed (e.g. a selection set of other canvases than training's).
        seed: (options.seed as number | undefined) ?? spec.seed ?? 0,
        backgrounds,
        threshold: options.threshold as number | undefined,
        length: options.length as number | undefined,
      };
      return view === 'classification'
        ? digitsClassification({ ...common, size: options.size as number | undefined })
        : digitsSegmentation({
            ...common,
            canvas: options.canvas as number | undefined,
            digits: options.digits as [number, number] | undefined,
          });
    }
    case 'cityscapes':
    case 'gta5':
    case 'synthia':
    case 'folder': {
      if (typeof spec.root !== 'string' || spec.root === '') {
        throw new Error(`openDataset(${kind}): spec.root (the dataset folder) is required`);
      }
      return openOnDiskDataset(kind, spec.root, spec.split, { ...options, skipBad: spec.skipBad ?? false });
    }
    default:
      throw new Error(`openDataset: unknown dataset kind '${kind}' (expected one of ${KINDS.join(', ')})`);
  }
}
