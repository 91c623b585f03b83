// The "Quick start" example of README.md, kept runnable (same code, asserted).
import '@tensorflow/tfjs-backend-cpu'; // a tfjs backend for the batches' tensors (or @road/backend's initBackend())
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { createBatchIterator, cropToFull, synthCityDataset } from './index.js';

it('README quick start runs', async () => {
  const before = tf.memory().numTensors;
  // --- README code ---
  const target = synthCityDataset({ split: 'target-val', seed: 0, length: 8 });
  const sample = await target.get(0); // { image: RGB uint8 HWC, label: train ids, width: 160, height: 80, name }

  const it = createBatchIterator(
    { kind: 'synthcity', split: 'source', seed: 0, options: { length: 16 } },
    { batchSize: 4, seed: 0, workers: 0, transform: { scale: [0.75, 1.25], crop: [64, 128], flip: true } },
  );
  const { value: batch } = await it.next(); // images float32 [4,64,128,3], labels int32 [4,64,128]
  const corner = cropToFull(batch.crops[0], 0, 0); // full-image pixel shown at crop pixel (0, 0)
  const saved = it.state(); // { epoch, index, rngState }: store it in a checkpoint, pass back as startFrom
  batch.images.dispose();
  batch.labels?.dispose();
  await it.close();
  console.log(sample.name, batch.images.shape, corner, saved.index);
  // --- end ---
  expect(sample.name).toBe('synthcity/target-val/00000');
  expect(batch.images.shape).toEqual([4, 64, 128, 3]);
  const c = batch.crops[0];
  expect(corner).toEqual({ y: c.top, x: c.flipped ? c.left + c.width - 1 : c.left });
  expect(saved.index).toBe(4);
  expect(tf.memory().numTensors).toBe(before);
});
