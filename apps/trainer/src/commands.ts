import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentBackendInfo, runSelfCheck } from '@road/backend';
import { dataStats, openOnDiskDataset } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { resolveCheckpointPath } from './checkpoint.js';
import { type DatasetRef, parseDatasetString, resolveDatasetRef, validateConfig } from './config.js';
import { openRef, toSpec } from './data.js';
import { doctorReport } from './doctor.js';
import { ensureEngine } from './engine.js';
import { EXIT, RoadError } from './errors.js';
import { evalMarkdown, evaluateNet, writeEval } from './evaluate.js';
import { loadNetFromCheckpoint } from './predict.js';
import { nativeBuild, roadVersion } from './versions.js';

/** `road eval`: evaluates a run's (or a checkpoint's) net on a labelled dataset, writes eval/*.json|md, prints the table. */
export async function runEval(o: {
  run?: string;
  checkpoint?: string;
  dataset?: string;
  limit?: number;
  backend?: string;
  out?: string;
  log: (line: string) => void;
}): Promise<void> {
  if (!o.run && !o.checkpoint) throw new RoadError('road eval needs --run DIR or --checkpoint PATH', EXIT.badInput);
  let ref: DatasetRef | null = null;
  let dataSeed = 0;
  if (o.run) {
    const cfgPath = join(o.run, 'config.json');
    if (!existsSync(cfgPath))
      throw new RoadError(`--run ${o.run}: no config.json there (not a run folder)`, EXIT.badInput);
    const config = validateConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
    ref = config.val;
    dataSeed = config.dataSeed;
  }
  if (o.dataset) ref = resolveDatasetRef(parseDatasetString(o.dataset, '--dataset'), 'val', '--dataset');
  if (!ref)
    throw new RoadError('road eval --checkpoint needs --dataset (e.g. cityscapes:/data/cityscapes#val)', EXIT.badInput);
  await ensureEngine(o.backend ?? 'auto', o.log);
  const ds = await openRef(ref, dataSeed, '--dataset');
  const ckPath = resolveCheckpointPath(o.checkpoint ?? o.run ?? '');
  const { net, checkpoint, normalization } = loadNetFromCheckpoint(ckPath, { numClasses: ds.numClasses });
  try {
    const r = await evaluateNet(net, ref, {
      numClasses: net.numClasses,
      seed: dataSeed,
      limit: o.limit || undefined,
      normalization,
    });
    const outDir = resolve(o.out ?? (o.run ? join(o.run, 'eval') : 'eval'));
    const name = `eval-${ref.kind}${ref.split ? `-${ref.split}` : ''}`;
    writeEval(outDir, name, r, `${checkpoint} on ${r.dataset}`);
    process.stdout.write(evalMarkdown(r, `${checkpoint} on ${r.dataset}`));
    o.log(`written ${join(outDir, `${name}.json`)} and .md`);
  } finally {
    net.dispose();
  }
}

/**
 * `road doctor`: versions, the engine chosen, each skipped one with its reason and how to get it (see
 * {@link doctorReport}), and a short training self-check (loss falling).
 */
export async function runDoctor(o: { backend: string; steps: number; log: (line: string) => void }): Promise<void> {
  await ensureEngine(o.backend, () => {});
  const info = currentBackendInfo();
  if (info == null) throw new RoadError('doctor: the engine is not initialised', 1);
  const versions = {
    road: roadVersion(),
    tfjs: tf.version_core,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    native: nativeBuild(),
  };
  for (const line of doctorReport(info, versions)) o.log(line);
  const losses = await runSelfCheck({ steps: o.steps, log: o.log, header: false });
  if (losses.length > 1 && !(losses[losses.length - 1] < losses[0]))
    throw new RoadError('self-check: the loss did not fall; training is broken on this backend', 1);
}

/** `road data stats`: images and pixels per train id (JSON). */
export async function runDataStats(o: {
  ref: DatasetRef;
  skipBad: boolean;
  limit: number;
  log: (l: string) => void;
}): Promise<unknown> {
  const ref = o.ref;
  if (ref.root !== undefined) {
    toSpec(ref, 0, '--root'); // clear error for a missing root
    let ds: Awaited<ReturnType<typeof openOnDiskDataset>>;
    try {
      ds = await openOnDiskDataset(ref.kind, ref.root, ref.split, {
        skipBad: o.skipBad,
        onWarning: (w: unknown) => o.log(`warning: ${typeof w === 'string' ? w : JSON.stringify(w)}`),
      } as never);
    } catch (e) {
      throw new RoadError(`cannot open ${ref.kind} at ${ref.root}: ${(e as Error).message}`, EXIT.badInput);
    }
    return dataStats(ds, { skipBad: o.skipBad });
  }
  const ds = await openRef(ref, 0, '--dataset');
  const limited =
    o.limit > 0 && o.limit < ds.length
      ? { ...ds, name: ds.name, numClasses: ds.numClasses, length: o.limit, get: (i: number) => ds.get(i) }
      : ds;
  return dataStats(limited, { skipBad: o.skipBad });
}
