/**
 * Shared machinery of the on-disk readers: directory listing, image/label pairing, decoding with label mapping,
 * and the bad-input policy.
 *
 * Policy: pairing problems (missing root or folder, image without label, split entry without image) are found when
 * the dataset is opened; decoding problems (unreadable, truncated or non-PNG file, label size ≠ image size, label id
 * not in the map) when a sample is loaded. Either way the error is a {@link DatasetError} naming the file.
 * With `skipBad`, the problem is reported through `onWarning` (default `console.warn`), recorded in
 * `dataset.bad` / `dataset.badCount`, and the sample is left out (at open) or replaced by the next good one (at get).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { DatasetError, type LabelImage, readLabelPng, readRgb } from '../image-io.js';
import { applyLabelLut, UnknownLabelIdError } from '../label-maps.js';
import type { Dataset, Sample } from '../types.js';

/** Options every on-disk reader takes. */
export interface OnDiskOptions {
  /** Skip unreadable/unpaired samples with a warning instead of throwing. Default false. */
  skipBad?: boolean;
  /** Receives one message per skipped file (default `console.warn`). */
  onWarning?: (message: string, error: DatasetError) => void;
  /**
   * What to do with a label id missing from the label map: `'error'` (default) throws naming the id and file;
   * `'ignore'` maps it to 255.
   */
  unknownIds?: 'error' | 'ignore';
}

/** One sample's files. */
export interface SampleFiles {
  name: string;
  image: string;
  label?: string;
}

/** A file that was skipped, and why. */
export interface BadFile {
  file: string;
  reason: string;
}

/** How to turn a label PNG into train ids. */
export interface LabelDecoding {
  /** 65536-entry table from `makeLabelLut` / `trainIdLut`. */
  lut: Uint8Array;
  /** Named in errors, e.g. "Cityscapes label-id map". */
  mapName: string;
  /** PNG channel holding the id. */
  channel: number;
  /** Accepted PNG colour types (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA); all when absent. */
  colorTypes?: readonly number[];
}

/** Construction data for {@link OnDiskDataset}. */
export interface OnDiskInit {
  name: string;
  root: string;
  numClasses: number;
  files: SampleFiles[];
  /** null for unlabeled datasets. */
  labels: LabelDecoding | null;
  options: OnDiskOptions;
  /** Problems found while opening (already reported). */
  bad: BadFile[];
}

const COLOR_TYPE_NAMES: Record<number, string> = {
  0: 'grey',
  2: 'RGB',
  3: 'palette',
  4: 'grey+alpha',
  6: 'RGBA',
};

/**
 * A dataset of image (+ label) files on disk. Implements {@link Dataset}; `load(i)` is the strict version of
 * `get(i)` (never substitutes), used by `dataStats`.
 */
export class OnDiskDataset implements Dataset {
  readonly name: string;
  readonly root: string;
  readonly numClasses: number;
  readonly files: readonly SampleFiles[];
  readonly labeled: boolean;
  /** Files skipped so far (at open time and, with skipBad, at get time). */
  readonly bad: BadFile[];
  private readonly labels: LabelDecoding | null;
  private readonly options: OnDiskOptions;
  private readonly badIndices = new Set<number>();

  constructor(init: OnDiskInit) {
    this.name = init.name;
    this.root = init.root;
    this.numClasses = init.numClasses;
    this.files = init.files;
    this.labels = init.labels;
    this.labeled = init.labels !== null;
    this.options = init.options;
    this.bad = init.bad;
  }

  get length(): number {
    return this.files.length;
  }

  /** Number of skipped files so far. */
  get badCount(): number {
    return this.bad.length;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.files.length) {
      throw new RangeError(`${this.name}: index ${index} is outside [0, ${this.files.length})`);
    }
  }

  /** Decodes sample `index`; any problem with its files throws a {@link DatasetError} naming the file. */
  async load(index: number): Promise<Sample> {
    this.checkIndex(index);
    const f = this.files[index];
    const dec = this.labels;
    const [image, rawLabel] = await Promise.all([
      readRgb(f.image),
      dec && f.label ? readLabelPng(f.label, { channel: dec.channel }) : Promise.resolve(undefined),
    ]);
    const sample: Sample = { image: image.data, width: image.width, height: image.height, name: f.name };
    if (dec && f.label && rawLabel) {
      sample.label = this.mapLabel(rawLabel, f.label, image.width, image.height, dec);
    }
    return sample;
  }

  private mapLabel(raw: LabelImage, file: string, width: number, height: number, dec: LabelDecoding): Uint8Array {
    if (dec.colorTypes && !dec.colorTypes.includes(raw.colorType)) {
      const want = dec.colorTypes.map((t) => COLOR_TYPE_NAMES[t]).join(' or ');
      throw new DatasetError(
        file,
        `label is a ${COLOR_TYPE_NAMES[raw.colorType]} PNG; expected a ${want} PNG holding ids (not a colour-coded label)`,
      );
    }
    if (raw.width !== width || raw.height !== height) {
      throw new DatasetError(file, `label is ${raw.width}x${raw.height} but its image is ${width}x${height}`);
    }
    try {
      return applyLabelLut(raw.data, dec.lut, width, this.options.unknownIds ?? 'error');
    } catch (e) {
      if (e instanceof UnknownLabelIdError) throw new DatasetError(file, `${e.message} (${dec.mapName})`, { cause: e });
      throw e;
    }
  }

  /**
   * Decodes sample `index`. Without `skipBad` this is {@link load}. With it, a sample that fails is reported once,
   * counted in `badCount`, and the next readable sample (wrapping around) is returned instead.
   */
  async get(index: number): Promise<Sample> {
    this.checkIndex(index);
    if (!this.options.skipBad) return this.load(index);
    const n = this.files.length;
    for (let k = 0; k < n; k++) {
      const i = (index + k) % n;
      if (this.badIndices.has(i)) continue;
      try {
        return await this.load(i);
      } catch (e) {
        if (!(e instanceof DatasetError)) throw e;
        this.markBad(i, e);
      }
    }
    throw new DatasetError(this.root, `none of the ${n} samples of ${this.name} is readable`);
  }

  /** Records sample `index` as unreadable (reported once). Used by get() and dataStats. */
  markBad(index: number, error: DatasetError): void {
    if (this.badIndices.has(index)) return;
    this.badIndices.add(index);
    this.bad.push({ file: error.file, reason: error.reason });
    warn(this.options, error);
  }
}

/** Reports a skipped file through `onWarning` (or console.warn). */
export function warn(options: OnDiskOptions, error: DatasetError): void {
  const message = `skipping ${error.file}: ${error.reason}`;
  if (options.onWarning) options.onWarning(message, error);
  else console.warn(`[road datasets] ${message}`);
}

/**
 * Collects pairing problems while a reader opens a dataset: throws at once without skipBad, otherwise warns and
 * records.
 */
export class OpenProblems {
  readonly bad: BadFile[] = [];
  constructor(private readonly options: OnDiskOptions) {}
  report(error: DatasetError): void {
    if (!this.options.skipBad) throw error;
    this.bad.push({ file: error.file, reason: error.reason });
    warn(this.options, error);
  }
}

/** Throws a DatasetError naming `dir` unless it is an existing directory. */
export async function requireDir(dir: string, what: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    throw new DatasetError(dir, `${what} not found`, { cause: e });
  }
  if (!isDir) throw new DatasetError(dir, `${what} is not a directory`);
}

/** True when `path` exists and is a directory. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** True when `path` exists and is a file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Sorted names of the regular files (or links) in `dir` whose names pass `keep`. */
export async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && keep(e.name))
    .map((e) => e.name)
    .sort();
}

/** Sorted names of the sub-directories of `dir`. */
export async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** `name` without its extension. */
export function stem(name: string): string {
  return basename(name, extname(name));
}

/** Lower-case extension test. */
export function hasExt(name: string, exts: readonly string[]): boolean {
  return exts.includes(extname(name).toLowerCase());
}

/**
 * Resolves and reads a split list for GTA5 / SYNTHIA. `splitFile` wins; otherwise `split` (unless undefined or
 * `'all'`) is looked up as `{root}/{split}.txt`, then `{root}/splits/{split}.txt`. Returns null for "all images".
 * Lines: one image name each (`00001.png`, `00001`, or a path whose last part is the name); blank lines and lines
 * starting with `#` are skipped.
 */
export async function readSplitList(
  root: string,
  split: string | undefined,
  splitFile: string | undefined,
): Promise<{ file: string; names: string[] } | null> {
  let file = splitFile;
  if (!file) {
    if (split === undefined || split === 'all') return null;
    const candidates = [join(root, `${split}.txt`), join(root, 'splits', `${split}.txt`)];
    for (const c of candidates) {
      if (await isFile(c)) {
        file = c;
        break;
      }
    }
    if (!file) {
      throw new DatasetError(root, `split "${split}" not found: looked for ${candidates.join(' and ')}`);
    }
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError(file, 'split file not found', { cause: e });
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const base = l.split(/[\\/]/).pop() as string;
      return extname(base) === '' ? `${base}.png` : base;
    });
  if (names.length === 0) throw new DatasetError(file, 'split file lists no images');
  return { file, names };
}

/**
 * Pairs `images/<name>` with `labels/<name>` for flat layouts (GTA5, SYNTHIA). `names` (from a split list) or all
 * PNGs of the image folder. Missing images/labels go through `problems`.
 */
export async function pairFlat(
  imageDir: string,
  labelDir: string,
  names: { file: string; names: string[] } | null,
  problems: OpenProblems,
): Promise<SampleFiles[]> {
  const images = await listFiles(imageDir, (n) => hasExt(n, ['.png']));
  const labelSet = new Set(await listFiles(labelDir, (n) => hasExt(n, ['.png'])));
  let wanted = images;
  if (names) {
    const imageSet = new Set(images);
    wanted = [];
    for (const n of names.names) {
      if (imageSet.has(n)) wanted.push(n);
      else problems.report(new DatasetError(join(imageDir, n), `listed in ${names.file} but missing`));
    }
  }
  const files: SampleFiles[] = [];
  for (const n of wanted) {
    const image = join(imageDir, n);
    if (!labelSet.has(n)) {
      problems.report(new DatasetError(image, `image has no label (expected ${join(labelDir, n)})`));
      continue;
    }
    files.push({ name: stem(n), image, label: join(labelDir, n) });
  }
  return files;
}

/** Throws when nothing is left to read. */
export function requireSome(files: SampleFiles[], dir: string, what: string): void {
  if (files.length === 0) throw new DatasetError(dir, `no ${what} found`);
}

/** Options common to the flat source layouts (GTA5, SYNTHIA). */
export interface FlatSplitOptions extends OnDiskOptions {
  root: string;
  split?: string;
  splitFile?: string;
}

/**
 * Opens a flat layout (GTA5, SYNTHIA): checks `root`, `imageDir` and `labelDir` exist (errors name `title`), reads
 * the split list ({@link readSplitList}), pairs the PNGs by name ({@link pairFlat}) and returns a 19-class dataset
 * named `{id}/{split}` (`custom` for a split file, `all` by default).
 */
export async function openFlatPairs(layout: {
  id: string;
  title: string;
  imageDir: string;
  labelDir: string;
  labels: LabelDecoding;
  options: FlatSplitOptions;
}): Promise<OnDiskDataset> {
  const { id, title, imageDir, labelDir, labels, options } = layout;
  const { root, split, splitFile } = options;
  await requireDir(root, `${title} root`);
  await requireDir(imageDir, `${title} image folder`);
  await requireDir(labelDir, `${title} label folder`);
  const problems = new OpenProblems(options);
  const files = await pairFlat(imageDir, labelDir, await readSplitList(root, split, splitFile), problems);
  requireSome(files, imageDir, 'image/label pairs');
  return new OnDiskDataset({
    name: `${id}/${splitFile ? 'custom' : (split ?? 'all')}`,
    root,
    numClasses: 19,
    files,
    labels,
    options,
    bad: problems.bad,
  });
}
