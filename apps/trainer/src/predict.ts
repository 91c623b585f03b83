import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CITYSCAPES_PALETTE, normalizeImage, readRgb } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { checkNetIdentity, readCheckpoint, restoreSlots } from './checkpoint.js';
import { type TrainConfig, validateConfig } from './config.js';
import { datasetNormalization } from './data.js';
import { EXIT, RoadError } from './errors.js';
import { buildNet, identityOf, netSlots, type SegNet } from './parts.js';
import { colorize, overlay, writeRgbPng } from './report.js';

/**
 * Loads a trained net from a checkpoint (a checkpoint folder, its checkpoint.json, or a run folder). The net's
 * name, attention and class count come from the checkpoint; `expect` (if given) must match them.
 */
export function loadNetFromCheckpoint(
  path: string,
  expect?: { name?: string; numClasses?: number },
): { net: SegNet; checkpoint: string; config: TrainConfig | null; normalization: 'caffe' | 'torch' | 'tf' } {
  const ck = readCheckpoint(path);
  const id = ck.manifest.net;
  if (expect?.name && expect.name !== id.name) {
    throw new RoadError(
      `checkpoint ${ck.dir} is from another net: ${id.name} (expected ${expect.name})`,
      EXIT.badInput,
    );
  }
  if (expect?.numClasses && expect.numClasses !== id.numClasses) {
    throw new RoadError(
      `checkpoint ${ck.dir} has ${id.numClasses} classes, the dataset has ${expect.numClasses}`,
      EXIT.badInput,
    );
  }
  const net = buildNet(
    { name: id.name, attention: id.attention as 'none' | 'hydraplus', width: id.width },
    id.numClasses,
    0,
    id.options ?? {},
  );
  try {
    checkNetIdentity(
      ck,
      identityOf({ name: id.name, attention: id.attention, width: id.width }, id.numClasses, {
        normalization: id.normalization,
        options: id.options,
      }),
    );
    restoreSlots(ck, 'net', netSlots(net));
  } catch (e) {
    net.dispose();
    throw e;
  }
  // A run's config.json sits two folders up (run/checkpoints/step-N).
  const cfgPath = join(dirname(dirname(ck.dir)), 'config.json');
  let config: TrainConfig | null = null;
  if (existsSync(cfgPath)) {
    try {
      config = validateConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
    } catch {
      config = null;
    }
  }
  return { net, checkpoint: ck.dir, config, normalization: id.normalization ?? 'torch' };
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp']);

/**
 * Predicts every image in `inputDir` and writes `<stem>.png` (Cityscapes palette) and, with `overlay`,
 * `<stem>_overlay.png` to `outputDir`.
 */
export async function predictFolder(options: {
  checkpoint: string;
  inputDir: string;
  outputDir: string;
  overlay?: boolean;
  log?: (line: string) => void;
}): Promise<{ written: string[] }> {
  const log = options.log ?? (() => {});
  if (!existsSync(options.inputDir)) throw new RoadError(`input folder missing: ${options.inputDir}`, EXIT.badInput);
  const files = readdirSync(options.inputDir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort();
  if (!files.length) throw new RoadError(`no images (png/jpg/webp) in ${options.inputDir}`, EXIT.badInput);
  // Plan every output first: an output that is an input file, or two inputs writing one output, is refused before
  // anything is written (predicting into the input folder must never overwrite a picture).
  const inputs = new Set(files.map((f) => resolve(options.inputDir, f)));
  const planned = new Map<string, string>();
  for (const f of files) {
    const stem = basename(f, extname(f));
    for (const out of [`${stem}.png`, ...(options.overlay ? [`${stem}_overlay.png`] : [])]) {
      const target = resolve(options.outputDir, out);
      if (inputs.has(target))
        throw new RoadError(
          `predict would overwrite the input image ${target}: choose an --output folder other than the input folder`,
          EXIT.badInput,
        );
      const other = planned.get(target);
      if (other)
        throw new RoadError(`inputs ${other} and ${f} would both be written to ${target}: rename one`, EXIT.badInput);
      planned.set(target, f);
    }
  }
  const { net, normalization } = loadNetFromCheckpoint(options.checkpoint);
  mkdirSync(options.outputDir, { recursive: true });
  const written: string[] = [];
  try {
    for (const f of files) {
      const path = join(options.inputDir, f);
      const img = await readRgb(path);
      const x = tf.tensor4d(normalizeImage(img.data, datasetNormalization(normalization)), [
        1,
        img.height,
        img.width,
        3,
      ]);
      const ids = tf.tidy(() => tf.cast(tf.argMax(net.predict(x), 3), 'int32'));
      const pred = new Uint8Array(await ids.data());
      tf.dispose([x, ids]);
      const colors = colorize(pred, CITYSCAPES_PALETTE as readonly (readonly number[])[]);
      const stem = basename(f, extname(f));
      const out = join(options.outputDir, `${stem}.png`);
      await writeRgbPng(colors, img.width, img.height, out);
      written.push(out);
      if (options.overlay) {
        const o = join(options.outputDir, `${stem}_overlay.png`);
        await writeRgbPng(overlay(img.data, colors, 0.5), img.width, img.height, o);
        written.push(o);
      }
      log(`predicted ${path} → ${out}`);
    }
  } finally {
    net.dispose();
  }
  return { written };
}
