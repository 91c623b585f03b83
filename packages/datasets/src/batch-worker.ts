/**
 * Worker-thread entry of the batch iterator (built to dist/batch-worker.js). It opens the dataset described by
 * `workerData.spec` itself, then answers `{ id, index, seed }` tasks with processed samples, transferring the buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ProcessedSample, processSample } from './batch-sample.js';
import { openDataset } from './open-dataset.js';
import type { TransformSpec } from './transforms.js';
import type { Dataset, DatasetSpec } from './types.js';

interface Task {
  id: number;
  index: number;
  seed: number;
}

const port = parentPort;
if (!port) throw new Error('batch-worker.js must run in a worker thread');
const { spec, transform } = workerData as { spec: DatasetSpec; transform: TransformSpec };

// No top-level await, so the same file also builds as CJS.
const datasetReady: Promise<Dataset | null> = openDataset(spec).then(
  (ds) => {
    port.postMessage({ type: 'ready' });
    return ds;
  },
  (e: Error) => {
    port.postMessage({ type: 'init-error', message: e.message });
    return null;
  },
);

port.on('message', async (task: Task) => {
  const dataset = await datasetReady;
  if (!dataset) return;
  try {
    const s: ProcessedSample = await processSample(dataset, transform, task.index, task.seed);
    const transfer: ArrayBuffer[] = [s.image.buffer as ArrayBuffer];
    if (s.label && s.label.byteLength === s.label.buffer.byteLength) transfer.push(s.label.buffer as ArrayBuffer);
    port.postMessage({ type: 'result', id: task.id, sample: s }, transfer);
  } catch (e) {
    port.postMessage({ type: 'error', id: task.id, message: (e as Error).message });
  }
});
