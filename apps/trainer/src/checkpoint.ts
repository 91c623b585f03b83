import * as fsp from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, basename, dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { RoadError, EXIT } from './errors.js';

/**
 * One tensor a checkpoint stores and restores. Net weights (tfjs-layers `LayerVariable`s, trainable or not),
 * region classifiers' `tf.Variable`s and optimizer slots all reduce to this.
 */
export interface WeightSlot {
  /** Group the slot belongs to (`net`, `saa`, …): matched group by group, position by position. */
  group: string;
  /** Informational name (variable names carry process-global counters, so matching is by position). */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Current value (caller does not dispose). */
  read(): tf.Tensor;
  /** Overwrite the value (the slot copies; the caller disposes `value`). */
  write(value: tf.Tensor): void;
}

/** What a checkpoint says about the net it holds (checked on load). */
export interface NetIdentity {
  name: string;
  attention: string;
  numClasses: number;
  inputChannels: number;
  /** Width multiplier (absent = 1). */
  width?: number;
  /** Input normalisation the net was trained with: `caffe`, `torch` or `tf` (absent = `torch`). */
  normalization?: 'caffe' | 'torch' | 'tf';
  /** Further net options (deeplabv2-resnet `depth`, and `bnEpsilon`, `strideIn` set by pretrained weights). */
  options?: { depth?: number; bnEpsilon?: number; strideIn?: '1x1' | '3x3' };
}

/** The JSON half of a checkpoint. The binary half (`weights.bin`) holds the tensors, little-endian. */
export interface CheckpointManifest {
  format: 'road-checkpoint/1';
  step: number;
  net: NetIdentity;
  /** Free-form training state: optimizer scalars, data-iterator positions, RNG state, metrics. */
  state: Record<string, unknown>;
  tensors: {
    group: string;
    name: string;
    shape: number[];
    dtype: 'float32' | 'int32';
    offset: number;
    length: number;
  }[];
}

/**
 * The file operations checkpointing uses. Swappable so tests can simulate a full disk
 * (a `writeFile` that fails) and check that the last good checkpoint survives.
 */
export interface CheckpointFs {
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  rm(path: string): Promise<void>;
}

export const nodeCheckpointFs: CheckpointFs = {
  writeFile: (p, d) => fsp.writeFile(p, d),
  rename: (a, b) => fsp.rename(a, b),
  mkdir: async (p) => {
    await fsp.mkdir(p, { recursive: true });
  },
  rm: (p) => fsp.rm(p, { recursive: true, force: true }),
};

const MANIFEST = 'checkpoint.json';
const WEIGHTS = 'weights.bin';

function stepDirName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/**
 * Writes a checkpoint folder atomically: everything goes to a temporary sibling folder, which is renamed into
 * place only when complete; then `latest.json` is replaced the same way (temp file + rename). A failure at any
 * point (disk full) removes the temporary folder and leaves earlier checkpoints untouched.
 *
 * @returns the folder written.
 */
export async function writeCheckpoint(
  dir: string,
  label: string | number,
  manifest: Omit<CheckpointManifest, 'tensors' | 'format'>,
  slots: WeightSlot[],
  fs: CheckpointFs = nodeCheckpointFs,
): Promise<string> {
  const name = typeof label === 'number' ? stepDirName(label) : label;
  const final = join(dir, name);
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  // Read every tensor first (async, so it works on backends without synchronous reads).
  const datas = await Promise.all(slots.map((s) => s.read().data()));
  let total = 0;
  const tensors: CheckpointManifest['tensors'] = slots.map((s, i) => {
    const length = datas[i].length;
    const entry = { group: s.group, name: s.name, shape: [...s.shape], dtype: s.dtype, offset: total, length };
    total += length * 4;
    return entry;
  });
  const bin = new Uint8Array(total);
  const view = new DataView(bin.buffer);
  slots.forEach((s, i) => {
    const d = datas[i];
    let o = tensors[i].offset;
    if (s.dtype === 'int32') for (let k = 0; k < d.length; k++, o += 4) view.setInt32(o, d[k], true);
    else for (let k = 0; k < d.length; k++, o += 4) view.setFloat32(o, d[k], true);
  });
  const full: CheckpointManifest = { format: 'road-checkpoint/1', ...manifest, tensors };
  try {
    await fs.mkdir(tmp);
    await fs.writeFile(join(tmp, WEIGHTS), bin);
    await fs.writeFile(join(tmp, MANIFEST), JSON.stringify(full, null, 1));
    await fs.rm(final);
    await fs.rename(tmp, final);
    if (typeof label === 'number') {
      const latestTmp = join(dir, `.tmp-latest-${process.pid}.json`);
      await fs.writeFile(latestTmp, JSON.stringify({ step: manifest.step, path: name }));
      await fs.rename(latestTmp, join(dir, 'latest.json'));
    }
  } catch (e) {
    await fs.rm(tmp).catch(() => undefined);
    throw new RoadError(
      `could not write checkpoint ${final}: ${(e as Error).message}` +
        (latestCheckpoint(dir) ? `; the last good checkpoint is kept: ${latestCheckpoint(dir)}` : ''),
      EXIT.checkpointWrite,
    );
  }
  return final;
}

/** The newest complete step checkpoint in `dir` (via latest.json), or null. */
export function latestCheckpoint(dir: string): string | null {
  const latest = join(dir, 'latest.json');
  if (!existsSync(latest)) return null;
  try {
    const { path } = JSON.parse(readFileSync(latest, 'utf8')) as { path: string };
    const p = join(dir, path);
    return existsSync(join(p, MANIFEST)) ? p : null;
  } catch {
    return null;
  }
}

/** Step checkpoints in `dir`, oldest first. */
export function listStepCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^step-\d+$/.test(n) && existsSync(join(dir, n, MANIFEST)))
    .sort()
    .map((n) => join(dir, n));
}

/** Removes all but the last `keep` step checkpoints (never the one latest.json points to). */
export async function pruneCheckpoints(dir: string, keep: number, fs: CheckpointFs = nodeCheckpointFs): Promise<void> {
  const all = listStepCheckpoints(dir);
  const latest = latestCheckpoint(dir);
  for (const p of all.slice(0, Math.max(0, all.length - keep))) {
    if (p !== latest) await fs.rm(p);
  }
}

/** A checkpoint read back from disk. */
export interface LoadedCheckpoint {
  dir: string;
  manifest: CheckpointManifest;
  weights: Uint8Array;
}

/**
 * Resolves a user path to a checkpoint folder: the folder itself, its checkpoint.json, a run folder
 * (its latest step checkpoint), or a run's `checkpoints/` folder.
 */
export function resolveCheckpointPath(path: string): string {
  const p = resolve(path);
  if (basename(p) === MANIFEST) return dirname(p);
  if (existsSync(join(p, MANIFEST))) return p;
  const ck = existsSync(join(p, 'checkpoints')) ? join(p, 'checkpoints') : p;
  const latest = latestCheckpoint(ck);
  if (latest) return latest;
  if (existsSync(join(ck, 'final', MANIFEST))) return join(ck, 'final');
  throw new RoadError(
    `no checkpoint found at ${path} (expected a folder with ${MANIFEST}, or a run folder)`,
    EXIT.badInput,
  );
}

/** Reads a checkpoint folder (manifest + weights). Errors name the file. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  const dir = resolveCheckpointPath(path);
  const mPath = join(dir, MANIFEST);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(readFileSync(mPath, 'utf8'));
  } catch (e) {
    throw new RoadError(`checkpoint ${mPath} is not readable JSON: ${(e as Error).message}`, EXIT.badInput);
  }
  if (manifest.format !== 'road-checkpoint/1') {
    throw new RoadError(`checkpoint ${mPath}: unknown format ${JSON.stringify(manifest.format)}`, EXIT.badInput);
  }
  const weights = new Uint8Array(readFileSync(join(dir, WEIGHTS)));
  const need = manifest.tensors.reduce((m, t) => Math.max(m, t.offset + t.length * 4), 0);
  if (weights.byteLength < need) {
    throw new RoadError(
      `checkpoint ${join(dir, WEIGHTS)} is truncated (${weights.byteLength} < ${need} bytes)`,
      EXIT.badInput,
    );
  }
  return { dir, manifest, weights };
}

/** Checks that a checkpoint holds the same net (name, attention, class count, input channels). */
export function checkNetIdentity(ck: LoadedCheckpoint, expected: NetIdentity): void {
  const got = ck.manifest.net;
  const diffs: string[] = [];
  for (const k of ['name', 'attention', 'numClasses', 'inputChannels', 'width'] as const) {
    const a = k === 'width' ? (got.width ?? 1) : got[k];
    const b = k === 'width' ? (expected.width ?? 1) : expected[k];
    if (a !== b) diffs.push(`${k} ${JSON.stringify(a)} (expected ${JSON.stringify(b)})`);
  }
  const norm = (id: NetIdentity) => id.normalization ?? 'torch';
  if (norm(got) !== norm(expected)) {
    diffs.push(`input normalisation ${norm(got)} (expected ${norm(expected)})`);
  }
  const opts = (id: NetIdentity) => JSON.stringify(id.options ?? {});
  if (opts(got) !== opts(expected)) diffs.push(`net options ${opts(got)} (expected ${opts(expected)})`);
  if (diffs.length) {
    throw new RoadError(`checkpoint ${ck.dir} is from another net: ${diffs.join(', ')}`, EXIT.badInput);
  }
}

/** The tensors of one group, in stored order. Caller disposes. */
export function checkpointTensors(ck: LoadedCheckpoint, group: string): { name: string; tensor: tf.Tensor }[] {
  const view = new DataView(ck.weights.buffer, ck.weights.byteOffset, ck.weights.byteLength);
  return ck.manifest.tensors
    .filter((t) => t.group === group)
    .map((t) => {
      const size = t.length;
      if (t.dtype === 'int32') {
        const a = new Int32Array(size);
        for (let k = 0; k < size; k++) a[k] = view.getInt32(t.offset + 4 * k, true);
        return { name: t.name, tensor: tf.tensor(a, t.shape, 'int32') };
      }
      const a = new Float32Array(size);
      for (let k = 0; k < size; k++) a[k] = view.getFloat32(t.offset + 4 * k, true);
      return { name: t.name, tensor: tf.tensor(a, t.shape, 'float32') };
    });
}

/**
 * Writes a group's stored tensors into `slots` (position by position). A different count or shape is an error
 * naming the checkpoint and the weight.
 */
export function restoreSlots(ck: LoadedCheckpoint, group: string, slots: WeightSlot[]): void {
  const stored = ck.manifest.tensors.filter((t) => t.group === group);
  if (stored.length !== slots.length) {
    throw new RoadError(
      `checkpoint ${ck.dir}: group "${group}" has ${stored.length} weights, the model has ${slots.length} (another net, class count or grid?)`,
      EXIT.badInput,
    );
  }
  stored.forEach((t, i) => {
    const s = slots[i];
    if (t.shape.length !== s.shape.length || t.shape.some((d, k) => d !== s.shape[k])) {
      throw new RoadError(
        `checkpoint ${ck.dir}: weight ${i} of "${group}" (${t.name}) has shape [${t.shape}], the model's ${s.name} has [${s.shape}] (another net or class count?)`,
        EXIT.badInput,
      );
    }
  });
  const tensors = checkpointTensors(ck, group);
  tensors.forEach(({ tensor }, i) => {
    slots[i].write(tensor);
    tensor.dispose();
  });
}
