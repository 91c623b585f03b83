// `road export --web RUN_DIR`: a run's net as a tfjs layers model a web page loads (model.json + weight shards), with
// what the page needs to show a prediction: the class names, the palette and the input normalisation (road-web.json).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { CAFFE_BGR_MEAN, CITYSCAPES_PALETTE, hsvToRgb, IMAGENET_MEAN, IMAGENET_STD } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { datasetNormalization } from './data.js';
import { EXIT, RoadError } from './errors.js';
import { classNamesFor, SYNTHCITY_CLASS_IDS } from './evaluate.js';
import { loadNetFromCheckpoint } from './predict.js';

/** File name of the page-side metadata next to model.json. */
export const WEB_META_FILE = 'road-web.json';
/** Largest weight shard (tfjs's converter uses 4 MiB too: a browser caches each shard on its own). */
export const SHARD_BYTES = 4 * 1024 * 1024;

/** What road-web.json holds. */
export interface WebExportMeta {
  format: 'road-web/1';
  /** The net as its checkpoint names it (registry name, classes, width, attention, options). */
  net: { name: string; numClasses: number; width?: number; attention?: string };
  /** The checkpoint exported, relative to the run folder. */
  checkpoint: string;
  /** One name per output class. */
  classes: string[];
  /** One RGB colour per output class. */
  palette: [number, number, number][];
  /** The class ids the run's target dataset uses (the legend shows these); all classes when unknown. */
  presentClasses: number[];
  /**
   * Input normalisation: `mode` is @road/datasets' `normalizeImage` mode; equivalently `out = (x / 255 − mean[c]) /
   * std[c]` on RGB values, then the channels reversed when `bgr`.
   */
  normalization: { mode: 'imagenet' | 'caffe' | 'tf'; mean: number[]; std: number[]; bgr: boolean };
}

const MEAN_STD: Record<'imagenet' | 'caffe' | 'tf', { mean: number[]; std: number[]; bgr: boolean }> = {
  imagenet: { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD], bgr: false },
  caffe: { mean: [...CAFFE_BGR_MEAN].reverse().map((m) => m / 255), std: [1 / 255, 1 / 255, 1 / 255], bgr: true },
  tf: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], bgr: false },
};

/** A palette for `n` classes: Cityscapes' for 19, else evenly spaced hues. */
export function paletteFor(n: number): [number, number, number][] {
  if (n === CITYSCAPES_PALETTE.length) return CITYSCAPES_PALETTE.map((c) => [c[0], c[1], c[2]]);
  // Evenly spaced hues, saturation 1 − 40/230 and value 230/255: channels between 40 and 230.
  return Array.from({ length: n }, (_, i) => {
    const [r, g, b] = hsvToRgb(i / n, 1 - 40 / 230, 230 / 255);
    return [Math.round(r), Math.round(g), Math.round(b)];
  });
}

/** A tfjs IOHandler that writes a layers model as `model.json` + `group1-shardKofN.bin` (≤ {@link SHARD_BYTES} each). */
function shardedDirHandler(dir: string, shardBytes: number): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer)
        throw new Error('export: binary topologies are not supported');
      const weights = new Uint8Array(
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
      );
      const count = Math.max(1, Math.ceil(weights.length / shardBytes));
      const paths: string[] = [];
      for (let k = 0; k < count; k++) {
        const name = `group1-shard${k + 1}of${count}.bin`;
        writeFileSync(
          join(dir, name),
          weights.subarray(k * shardBytes, Math.min(weights.length, (k + 1) * shardBytes)),
        );
        paths.push(name);
      }
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'road export --web',
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJSON));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/**
 * Exports the newest checkpoint of a run (or a checkpoint folder) for the web: `model.json` + weight shards (a tfjs
 * layers model: `tf.loadLayersModel` or @road/backbone's `loadSegmentationNet` read it) and `road-web.json`
 * ({@link WebExportMeta}). Writes into `out` (default `RUN_DIR/web`), replacing an earlier export there.
 */
export async function exportWeb(options: {
  run: string;
  out?: string;
  log?: (line: string) => void;
  /** Largest weight shard; default {@link SHARD_BYTES}. */
  shardBytes?: number;
}): Promise<{
  dir: string;
  files: string[];
  meta: WebExportMeta;
}> {
  const log = options.log ?? (() => {});
  if (!existsSync(options.run)) throw new RoadError(`export: run folder missing: ${options.run}`, EXIT.badInput);
  const { net, checkpoint, config, normalization } = loadNetFromCheckpoint(options.run);
  const dir = resolve(options.out ?? join(options.run, 'web'));
  try {
    const numClasses = net.numClasses;
    const target = config?.target.kind;
    const mode = datasetNormalization(normalization);
    const manifest = JSON.parse(readFileSync(join(checkpoint, 'checkpoint.json'), 'utf8')) as {
      net: WebExportMeta['net'];
    };
    const meta: WebExportMeta = {
      format: 'road-web/1',
      net: {
        name: manifest.net.name,
        numClasses: manifest.net.numClasses,
        ...(manifest.net.width != null ? { width: manifest.net.width } : {}),
        ...(manifest.net.attention != null ? { attention: manifest.net.attention } : {}),
      },
      checkpoint: relative(resolve(options.run), checkpoint) || basename(checkpoint),
      classes: classNamesFor(numClasses),
      palette: paletteFor(numClasses),
      presentClasses:
        target === 'synthcity' && numClasses === 19
          ? [...SYNTHCITY_CLASS_IDS]
          : Array.from({ length: numClasses }, (_, i) => i),
      normalization: { mode, ...MEAN_STD[mode] },
    };
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir))
      if (f === 'model.json' || /^group\d+-shard\d+of\d+\.bin$/.test(f)) rmSync(join(dir, f));
    await net.save(shardedDirHandler(dir, options.shardBytes ?? SHARD_BYTES));
    writeFileSync(join(dir, WEB_META_FILE), `${JSON.stringify(meta, null, 1)}\n`);
    const files = readdirSync(dir).sort();
    log(`exported ${checkpoint} → ${dir} (${files.join(', ')})`);
    return { dir, files, meta };
  } finally {
    net.dispose();
  }
}

/** Reads an export back as tfjs model artifacts (for `tf.io.fromMemory`), checking every file it names. */
export function readWebExport(dir: string): { artifacts: tf.io.ModelArtifacts; meta: WebExportMeta } {
  const jsonPath = join(dir, 'model.json');
  const metaPath = join(dir, WEB_META_FILE);
  for (const p of [jsonPath, metaPath])
    if (!existsSync(p)) throw new RoadError(`web export: ${p} is missing`, EXIT.badInput);
  let modelJSON: tf.io.ModelJSON;
  let meta: WebExportMeta;
  try {
    modelJSON = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new RoadError(`web export: ${jsonPath} is not valid JSON: ${(e as Error).message}`, EXIT.badInput);
  }
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (e) {
    throw new RoadError(`web export: ${metaPath} is not valid JSON: ${(e as Error).message}`, EXIT.badInput);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of modelJSON.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      if (p.includes('/') || p.includes('\\'))
        throw new RoadError(`web export: shard path ${p} leaves ${dir}`, EXIT.badInput);
      const file = join(dir, p);
      if (!existsSync(file)) throw new RoadError(`web export: weight shard ${file} is missing`, EXIT.badInput);
      parts.push(new Uint8Array(readFileSync(file)));
    }
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    weightData.set(p, o);
    o += p.length;
  }
  return {
    artifacts: {
      modelTopology: modelJSON.modelTopology,
      format: modelJSON.format,
      weightSpecs: specs,
      weightData: weightData.buffer,
      userDefinedMetadata: modelJSON.userDefinedMetadata,
    },
    meta,
  };
}
