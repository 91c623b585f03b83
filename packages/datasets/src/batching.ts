/**
 * Batching: an async iterator of tfjs batches that decodes and augments ahead on worker threads, with bounded memory,
 * repeating forever for training (like TLlib's `ForeverDataIterator`: a fresh shuffle every epoch) and resumable
 * from a saved position.
 *
 * Determinism: the order of epoch `e` and the augmentation of every sample depend only on `seed` (and `startFrom`):
 * at the start of each epoch a master {@link Rng} draws the permutation, then one uint32 `epochSeed`; the sample at
 * position `p` of the epoch is augmented with `new Rng(deriveSeed(epochSeed, p))`. Which thread processes a sample
 * does not matter, so `workers: 0` (main thread) and `workers: n` yield identical batches, in the same order.
 *
 * Worker file: the workers run `batch-worker.js`, built by tsup next to the package's `index.js` (an extra entry in
 * tsup.config.ts) and found through `import.meta.url`. Code running from `src/` (vitest) has no sibling `.js`
 * worker, so it falls back to `../dist/batch-worker.js` (build first) — or pass `workerUrl`: the package's own tests
 * bundle `src/batch-worker.ts` with esbuild and pass that, so they always test the current sources.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { type ProcessedSample, processSample } from './batch-sample.js';
import { openDataset } from './open-dataset.js';
import { deriveSeed, Rng, type RngState } from './rng.js';
import type { TransformSpec } from './transforms.js';
import type { Crop, Dataset, DatasetSpec } from './types.js';

/** Where an iterator stands: the next batch starts at position `index` of epoch `epoch`. JSON-serialisable. */
export interface IteratorState {
  epoch: number;
  index: number;
  /** State of the master generator at the start of `epoch` (before it drew that epoch's permutation). */
  rngState: RngState;
}

/** Options of {@link createBatchIterator}. */
export interface BatchIteratorOptions {
  batchSize: number;
  /** Augmentation (see transforms.ts): resize, scale, crop, flip, normalize (default 'imagenet'). */
  transform?: TransformSpec;
  /** Repeat epochs forever (default true). */
  forever?: boolean;
  /** Reshuffle every epoch (default true); false keeps dataset order. */
  shuffle?: boolean;
  /** Drop an incomplete last batch (default: same as `forever`, so training batches are always full). */
  dropLast?: boolean;
  seed?: number;
  /** Worker threads (default: cores − 1, at least 1); 0 runs everything in the main thread. */
  workers?: number;
  /** Samples decoded ahead of the consumer, at most (default 2 × batchSize; never less than one batch). */
  prefetch?: number;
  /** Resume at a position returned by {@link BatchIterator.state}. */
  startFrom?: IteratorState;
  /** Override the worker script (advanced; tests use a fresh bundle of src/batch-worker.ts). */
  workerUrl?: string | URL;
}

/** One batch. The caller owns (and must dispose) the tensors. */
export interface Batch {
  /** float32 [N, H, W, 3], normalised. */
  images: tf.Tensor4D;
  /** int32 [N, H, W] train ids (255 ignore); absent for unlabeled data. */
  labels?: tf.Tensor3D;
  /** int32 [N] image-level classes (classification views such as Digits classification). */
  classes?: tf.Tensor1D;
  /** Where each sample's crop sits in its (rescaled) full image. */
  crops: Crop[];
  names: string[];
}

/** The iterator returned by {@link createBatchIterator}. */
export interface BatchIterator extends AsyncIterableIterator<Batch> {
  /** Position of the next batch to be yielded (not of the prefetched work). */
  state(): IteratorState;
  /** The dataset as opened in the main thread (length, numClasses, name). */
  dataset(): Promise<Dataset>;
  /** Number of batches per epoch. */
  batchesPerEpoch(): Promise<number>;
  /** Terminates the workers; pending `next()` calls reject. Safe to call twice. */
  close(): Promise<void>;
}

interface EpochPlan {
  epoch: number;
  startState: RngState;
  endState: RngState;
  perm: Uint32Array;
  seed: number;
}

interface Task {
  id: number;
  index: number;
  seed: number;
}

interface PlannedBatch {
  epoch: number;
  index: number;
  next: { epoch: number; index: number };
  tasks: Task[];
}

/** Deterministic planning of epochs and batches (shared by producer and consumer). */
class Planner {
  private plans: EpochPlan[] = [];

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly shuffle: boolean,
    readonly forever: boolean,
    readonly dropLast: boolean,
    first: { epoch: number; state: RngState },
  ) {
    this.plans.push(this.makePlan(first.epoch, first.state));
  }

  private makePlan(epoch: number, state: RngState): EpochPlan {
    const rng = new Rng(0);
    rng.setState(state);
    const perm = new Uint32Array(this.n);
    if (this.shuffle) perm.set(rng.permutation(this.n));
    else for (let i = 0; i < this.n; i++) perm[i] = i;
    const seed = rng.nextUint32();
    return { epoch, startState: state, endState: rng.getState(), perm, seed };
  }

  plan(epoch: number): EpochPlan {
    const first = this.plans[0];
    if (epoch < first.epoch) throw new Error(`batch iterator: epoch ${epoch} is before the resume point`);
    while (this.plans[this.plans.length - 1].epoch < epoch) {
      const last = this.plans[this.plans.length - 1];
      this.plans.push(this.makePlan(last.epoch + 1, last.endState));
    }
    return this.plans.find((p) => p.epoch === epoch)!;
  }

  /** Forgets plans before `epoch` (both cursors are past them). */
  prune(epoch: number): void {
    while (this.plans.length > 1 && this.plans[0].epoch < epoch) this.plans.shift();
  }

  /** Normalises a position: an epoch's end rolls over to the next epoch (or is the end when not forever). */
  normalize(pos: { epoch: number; index: number }): { epoch: number; index: number } | null {
    const end = this.dropLast ? this.n - (this.n % this.batchSize) : this.n;
    if (pos.index < end) return pos;
    return this.forever ? { epoch: pos.epoch + 1, index: 0 } : null;
  }

  batchAt(pos: { epoch: number; index: number }, nextId: () => number): PlannedBatch | null {
    const p = this.normalize(pos);
    if (!p) return null;
    const plan = this.plan(p.epoch);
    const stop = Math.min(p.index + this.batchSize, this.n);
    const tasks: Task[] = [];
    for (let k = p.index; k < stop; k++)
      tasks.push({ id: nextId(), index: plan.perm[k], seed: deriveSeed(plan.seed, k) });
    return { epoch: p.epoch, index: p.index, next: { epoch: p.epoch, index: stop }, tasks };
  }
}

/** Resolves the worker script: sibling batch-worker.js (dist), else ../dist/batch-worker.js (running from src). */
export function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  const candidates = [new URL('./batch-worker.js', here), new URL('../dist/batch-worker.js', here)];
  for (const c of candidates) if (existsSync(fileURLToPath(c))) return c;
  throw new Error(
    `batch iterator: worker script not found (looked for ${candidates.map((c) => fileURLToPath(c)).join(', ')}). ` +
      'Build the package (pnpm --filter @road/datasets build), pass workerUrl, or use workers: 0.',
  );
}

interface WorkerSlot {
  worker: Worker;
  inFlight: number;
  ready: Promise<void>;
}

/** A pool of dataset workers answering tasks by id. */
class WorkerPool {
  private slots: WorkerSlot[] = [];
  private pending = new Map<
    number,
    { resolve: (s: ProcessedSample) => void; reject: (e: Error) => void; slot: WorkerSlot }
  >();
  private failure: Error | null = null;
  private waiting = 0;
  private closed = false;

  constructor(count: number, url: URL | string, spec: DatasetSpec, transform: TransformSpec) {
    for (let k = 0; k < count; k++) {
      const worker = new Worker(url, { workerData: { spec, transform } });
      worker.unref();
      const slot: WorkerSlot = { worker, inFlight: 0, ready: Promise.resolve() };
      slot.ready = new Promise<void>((resolve, reject) => {
        const onMessage = (m: { type: string; id?: number; sample?: ProcessedSample; message?: string }) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'init-error') {
            const e = new Error(`batch iterator: worker could not open the dataset: ${m.message}`);
            reject(e);
            this.fail(e);
          } else if (m.type === 'result' || m.type === 'error') {
            const p = this.pending.get(m.id!);
            if (!p) return;
            this.pending.delete(m.id!);
            p.slot.inFlight--;
            this.updateRef();
            if (m.type === 'result') p.resolve(m.sample!);
            else p.reject(new Error(m.message));
          }
        };
        worker.on('message', onMessage);
        worker.on('error', (e) => {
          reject(e);
          this.fail(new Error(`batch iterator: worker crashed: ${e.message}`));
        });
        worker.on('exit', (code) => {
          if (!this.closed && code !== 0) this.fail(new Error(`batch iterator: worker exited with code ${code}`));
        });
      });
      slot.ready.catch(() => {}); // surfaced through fail()/run()
      this.slots.push(slot);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }

  /** Workers keep the process alive only while the consumer is waiting on them. */
  private updateRef(): void {
    const keep = this.waiting > 0 && this.pending.size > 0 && !this.closed;
    for (const s of this.slots) keep ? s.worker.ref() : s.worker.unref();
  }

  async waitFor<T>(p: Promise<T>): Promise<T> {
    this.waiting++;
    this.updateRef();
    try {
      return await p;
    } finally {
      this.waiting--;
      this.updateRef();
    }
  }

  run(task: Task): Promise<ProcessedSample> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('batch iterator: closed'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.inFlight < slot.inFlight) slot = s;
    slot.inFlight++;
    const promise = new Promise<ProcessedSample>((resolve, reject) => {
      this.pending.set(task.id, { resolve, reject, slot });
    });
    slot.ready.then(
      () => {
        if (!this.closed && this.pending.has(task.id)) slot.worker.postMessage(task);
      },
      () => {},
    );
    this.updateRef();
    return promise;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const e = new Error('batch iterator: closed');
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function assemble(samples: ProcessedSample[]): Batch {
  const { width: W, height: H } = samples[0];
  for (const s of samples) {
    if (s.width !== W || s.height !== H) {
      throw new Error(
        `batch iterator: samples of different sizes in one batch (${samples[0].name}: ${W}x${H}, ${s.name}: ` +
          `${s.width}x${s.height}); set transform.crop or transform.resize`,
      );
    }
  }
  const B = samples.length;
  const hw = H * W;
  const img = new Float32Array(B * hw * 3);
  samples.forEach((s, b) => {
    img.set(s.image, b * hw * 3);
  });
  const labelled = samples.filter((s) => s.label).length;
  if (labelled !== 0 && labelled !== B) throw new Error('batch iterator: some samples have labels and some do not');
  const hasClass = samples.filter((s) => s.classId !== undefined).length;
  if (hasClass !== 0 && hasClass !== B) throw new Error('batch iterator: some samples have a classId and some do not');
  const batch: Batch = {
    images: tf.tensor4d(img, [B, H, W, 3], 'float32'),
    crops: samples.map((s) => s.crop),
    names: samples.map((s) => s.name),
  };
  if (labelled) {
    const lab = new Int32Array(B * hw);
    samples.forEach((s, b) => {
      lab.set(s.label!, b * hw);
    });
    batch.labels = tf.tensor3d(lab, [B, H, W], 'int32');
  }
  if (hasClass) batch.classes = tf.tensor1d(Int32Array.from(samples.map((s) => s.classId!)), 'int32');
  return batch;
}

/**
 * Creates a batch iterator over the dataset `spec` describes (see {@link BatchIteratorOptions}).
 *
 * Each `next()` yields `{ images: float32 [N,H,W,3], labels?: int32 [N,H,W], classes?: int32 [N], crops, names }`;
 * the caller disposes the tensors. Up to `prefetch` samples are decoded ahead by the workers (a bounded queue; the
 * result buffers are transferred, not copied). `state()` gives the position of the next batch; pass it back as
 * `startFrom` to continue exactly there. `close()` (or `break` in `for await`) terminates the workers.
 *
 * @example
 * const it = createBatchIterator({ kind: 'synthcity', split: 'source' }, { batchSize: 4, transform: { crop: [64, 64], flip: true } });
 * const { value } = await it.next();
 * value.images.dispose(); value.labels?.dispose();
 * await it.close();
 */
export function createBatchIterator(spec: DatasetSpec, options: BatchIteratorOptions): BatchIterator {
  const {
    batchSize,
    transform = {},
    forever = true,
    shuffle = true,
    seed = 0,
    workers = Math.max(1, availableParallelism() - 1),
    startFrom,
  } = options;
  const dropLast = options.dropLast ?? forever;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch iterator: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(workers) || workers < 0)
    throw new Error(`batch iterator: workers must be an integer >= 0, got ${workers}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`batch iterator: seed must be an integer, got ${seed}`);
  const prefetch = Math.max(options.prefetch ?? 2 * batchSize, batchSize);
  if (startFrom) {
    const ok =
      Number.isInteger(startFrom.epoch) &&
      startFrom.epoch >= 0 &&
      Number.isInteger(startFrom.index) &&
      startFrom.index >= 0;
    if (!ok) throw new Error(`batch iterator: bad startFrom ${JSON.stringify(startFrom)}`);
    new Rng(0).setState(startFrom.rngState); // validates
  }

  let datasetPromise: Promise<Dataset> | null = null;
  let planner: Planner | null = null;
  let pool: WorkerPool | null = null;
  let localDataset: Dataset | null = null;
  let consumer = { epoch: startFrom?.epoch ?? 0, index: startFrom?.index ?? 0 };
  let producer = { ...consumer };
  let producerDone = false;
  let done = false;
  let closed = false;
  let idCounter = 0;
  const queue: Array<{ batch: PlannedBatch; results: Promise<ProcessedSample>[] }> = [];
  let inQueue = 0;

  const open = (): Promise<Dataset> => {
    if (!datasetPromise) {
      datasetPromise = (async () => {
        const ds = await openDataset(spec);
        if (ds.length < 1) throw new Error(`batch iterator: dataset ${ds.name} is empty`);
        if (dropLast && ds.length < batchSize) {
          throw new Error(
            `batch iterator: dataset ${ds.name} has ${ds.length} samples, fewer than batchSize ${batchSize}`,
          );
        }
        if (startFrom && startFrom.index > ds.length) {
          throw new Error(`batch iterator: startFrom.index ${startFrom.index} is past the dataset length ${ds.length}`);
        }
        planner = new Planner(ds.length, batchSize, shuffle, forever, dropLast, {
          epoch: consumer.epoch,
          state: startFrom?.rngState ?? new Rng(seed).getState(),
        });
        if (workers > 0) {
          pool = new WorkerPool(workers, options.workerUrl ?? defaultWorkerUrl(), spec, transform);
        } else localDataset = ds;
        return ds;
      })();
    }
    return datasetPromise;
  };

  const runTask = (t: Task): Promise<ProcessedSample> =>
    pool ? pool.run(t) : processSample(localDataset!, transform, t.index, t.seed);

  /** Plans (and, with workers, dispatches) batches while the bounded queue has room. */
  const fill = (): void => {
    while (!producerDone && (queue.length === 0 || inQueue + batchSize <= prefetch)) {
      const b = planner!.batchAt(producer, () => idCounter++);
      if (!b) {
        producerDone = true;
        break;
      }
      producer = b.next;
      // Without workers, work is done lazily at consumption (no point computing ahead on the same thread).
      const results = pool ? b.tasks.map((t) => pool!.run(t)) : [];
      for (const r of results) r.catch(() => {}); // rejections are observed when the batch is consumed
      queue.push({ batch: b, results });
      inQueue += b.tasks.length;
      if (!pool) break;
    }
  };

  const state = (): IteratorState => {
    if (!planner) {
      return {
        epoch: consumer.epoch,
        index: consumer.index,
        rngState: startFrom?.rngState ?? new Rng(seed).getState(),
      };
    }
    const pos = planner.normalize(consumer) ?? consumer;
    return { epoch: pos.epoch, index: pos.index, rngState: [...planner.plan(pos.epoch).startState] as RngState };
  };

  const close = async (): Promise<void> => {
    closed = true;
    done = true;
    queue.length = 0;
    if (datasetPromise) await datasetPromise.catch(() => {});
    if (pool) await (pool as WorkerPool).close();
  };

  const iterator: BatchIterator = {
    async next(): Promise<IteratorResult<Batch>> {
      if (closed || done) return { done: true, value: undefined };
      await open();
      fill();
      const item = queue.shift();
      if (!item) {
        done = true;
        return { done: true, value: undefined };
      }
      inQueue -= item.batch.tasks.length;
      let samples: ProcessedSample[];
      if (pool) {
        samples = await pool.waitFor(Promise.all(item.results));
      } else {
        samples = [];
        for (const t of item.batch.tasks) samples.push(await runTask(t));
      }
      consumer = item.batch.next;
      planner!.prune(Math.min(consumer.epoch, producer.epoch));
      fill(); // start the next work before handing this batch over
      return { done: false, value: assemble(samples) };
    },
    async return(): Promise<IteratorResult<Batch>> {
      await close();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    state,
    dataset: open,
    async batchesPerEpoch() {
      const ds = await open();
      return dropLast ? Math.floor(ds.length / batchSize) : Math.ceil(ds.length / batchSize);
    },
    close,
  };
  return iterator;
}
