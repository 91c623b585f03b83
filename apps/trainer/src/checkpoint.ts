import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EXIT, RoadError } from './errors.js';
import type { WeightNetOptions } from './parts.js';

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
  /**
   * Further net options (deeplabv2-resnet `depth`, `bnEpsilon` and `strideIn` set by pretrained weights, HydraPlus
   * `attentionModules`, `attentionSources`, `attentionMaps` other than the defaults).
   */
  options?: WeightNetOptions;
}

/** The JSON half of a checkpoint. The binary half (`weights.bin`) holds the tensors, little-endian. */
export interface CheckpointManifest {
  format: 'road-checkpoint/1';
  step: number;
  net: NetIdentity;
  /** Free-form training state: optimizer scalars, data-iterator positions, RNG state, metrics. */
  state: Record<string, unknown>;
  /** Hash of the run's config (all keys but `steps`): a resumed run only takes checkpoints of its own config. */
  configHash?: string;
  /** SHA-256 of weights.bin (hex); checked on read. Checkpoints written before it existed have none. */
  weightsSha256?: string;
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
/** SHA-256 (hex) of checkpoint.json's bytes, written beside it: a flipped bit in the manifest is caught too. */
const MANIFEST_SUM = 'checkpoint.sha256';

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

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
  manifest: Omit<CheckpointManifest, 'tensors' | 'format' | 'weightsSha256'>,
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
  const full: CheckpointManifest = { format: 'road-checkpoint/1', ...manifest, weightsSha256: sha256(bin), tensors };
  const manifestText = JSON.stringify(full, null, 1);
  const old = join(dir, `.old-${name}-${process.pid}-${Date.now()}`);
  try {
    await fs.mkdir(tmp);
    await fs.writeFile(join(tmp, WEIGHTS), bin);
    await fs.writeFile(join(tmp, MANIFEST), manifestText);
    await fs.writeFile(join(tmp, MANIFEST_SUM), `${sha256(manifestText)}\n`);
    // Replacing a folder of the same name (`best`, or a step written again after a resume): move the old one aside
    // first, so that a kill at any point leaves either the old or the new one under the final name, never neither
    // for longer than one rename.
    if (existsSync(final)) await fs.rename(final, old);
    await fs.rename(tmp, final);
    await fs.rm(old);
    if (typeof label === 'number') {
      const latestTmp = join(dir, `.tmp-latest-${process.pid}.json`);
      await fs.writeFile(latestTmp, JSON.stringify({ step: manifest.step, path: name }));
      await fs.rename(latestTmp, join(dir, 'latest.json'));
    }
  } catch (e) {
    await fs.rm(tmp).catch(() => undefined);
    if (!existsSync(final) && existsSync(old)) await fs.rename(old, final).catch(() => undefined);
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

/**
 * Tidies a checkpoint folder after a process was killed while writing in it (call it holding the run lock):
 * temporary folders and files are removed, and a folder moved aside to be replaced (`.old-NAME-…`) goes back to
 * NAME when the new NAME never arrived. Returns what it did, one line each.
 */
export function recoverCheckpointDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const done: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    const old = /^\.old-(.+)-\d+-\d+$/.exec(entry);
    if (old && !existsSync(join(dir, old[1]))) {
      renameSync(p, join(dir, old[1]));
      done.push(`restored ${join(dir, old[1])} (its replacement was never completed)`);
    } else if (old || entry.startsWith('.tmp-')) {
      rmSync(p, { recursive: true, force: true });
      done.push(`removed ${p} (left by an interrupted write)`);
    }
  }
  return done;
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

/** Reads a checkpoint folder (manifest + weights) and checks its checksums. Errors name the file. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  const dir = resolveCheckpointPath(path);
  const mPath = join(dir, MANIFEST);
  let text: string;
  let manifest: CheckpointManifest;
  try {
    text = readFileSync(mPath, 'utf8');
    manifest = JSON.parse(text);
  } catch (e) {
    throw new RoadError(`checkpoint ${mPath} is not readable JSON: ${(e as Error).message}`, EXIT.badInput);
  }
  if (manifest == null || typeof manifest !== 'object' || manifest.format !== 'road-checkpoint/1') {
    throw new RoadError(`checkpoint ${mPath}: unknown format ${JSON.stringify(manifest?.format)}`, EXIT.badInput);
  }
  const sumPath = join(dir, MANIFEST_SUM);
  if (existsSync(sumPath)) {
    const want = readFileSync(sumPath, 'utf8').trim();
    if (sha256(text) !== want)
      throw new RoadError(`checkpoint ${mPath} is corrupt: its SHA-256 does not match ${sumPath}`, EXIT.badInput);
  } else if (manifest.weightsSha256 !== undefined) {
    throw new RoadError(`checkpoint ${dir} is incomplete: ${sumPath} is missing`, EXIT.badInput);
  }
  const wPath = join(dir, WEIGHTS);
  let weights: Uint8Array;
  try {
    weights = new Uint8Array(readFileSync(wPath));
  } catch (e) {
    throw new RoadError(`checkpoint ${wPath} is not readable: ${(e as Error).message}`, EXIT.badInput);
  }
  const need = manifest.tensors.reduce((m, t) => Math.max(m, t.offset + t.length * 4), 0);
  if (weights.byteLength < need) {
    throw new RoadError(`checkpoint ${wPath} is truncated (${weights.byteLength} < ${need} bytes)`, EXIT.badInput);
  }
  if (manifest.weightsSha256 !== undefined && sha256(weights) !== manifest.weightsSha256) {
    throw new RoadError(
      `checkpoint ${wPath} is corrupt: its SHA-256 does not match the one in ${MANIFEST}`,
      EXIT.badInput,
    );
  }
  return { dir, manifest, weights };
}

/** Hash of a config for {@link CheckpointManifest.configHash}: canonical JSON (sorted keys), `steps` left out. */
export function configHash(config: object): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  const { steps: _steps, ...rest } = config as Record<string, unknown>;
  return sha256(JSON.stringify(canon(rest))).slice(0, 16);
}

/**
 * The newest good step checkpoint of a run: latest.json's first, then the step checkpoints newest first. A
 * checkpoint that fails its checksums, cannot be read or belongs to another config (`expectedConfigHash`) is
 * named through `warn` and skipped, and so is one that `check` (e.g. the net's identity) throws for. Null when the folder has none at all; a RoadError listing each one tried when
 * none of them is good.
 */
export function newestGoodCheckpoint(
  dir: string,
  expectedConfigHash: string | null,
  warn: (line: string) => void,
  check?: (ck: LoadedCheckpoint) => void,
): LoadedCheckpoint | null {
  const latest = latestCheckpoint(dir);
  const all = listStepCheckpoints(dir).reverse();
  const candidates = [...new Set([...(latest ? [latest] : []), ...all])];
  if (!candidates.length) return null;
  const bad: string[] = [];
  for (const c of candidates) {
    try {
      const ck = readCheckpoint(c);
      check?.(ck);
      if (expectedConfigHash && ck.manifest.configHash && ck.manifest.configHash !== expectedConfigHash)
        throw new RoadError(
          `checkpoint ${c} was written by another config (hash ${ck.manifest.configHash}, this run's is ${expectedConfigHash})`,
          EXIT.badInput,
        );
      if (bad.length) warn(`resuming from the previous good checkpoint ${c}`);
      return ck;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      bad.push(msg);
      warn(`skipping a bad checkpoint: ${msg}`);
    }
  }
  throw new RoadError(`no good checkpoint left in ${dir}:\n  ${bad.join('\n  ')}`, EXIT.badInput);
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
