import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
// Same code as the README "On-disk datasets" example, importing from the package entry.
import { CITYSCAPES_CLASSES, dataStats, openOnDiskDataset } from './index.js';
import { makeGta5, tempDir } from './readers/make-fixtures.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await tempDir('readme');
  cleanup = t.cleanup;
  root = join(t.dir, 'gta5');
  await makeGta5(root);
});
afterAll(() => cleanup());

it('README on-disk example runs', async () => {
  const lines: string[] = [];
  const log = (...a: unknown[]) => lines.push(a.join(' '));
  // A GTA5-style folder: images/00001.png + labels/00001.png (palette PNG of Cityscapes ids).
  const ds = await openOnDiskDataset('gta5', root, undefined, { skipBad: true });
  const sample = await ds.get(0);
  log(sample.name, sample.width, sample.height, sample.label?.length);
  const stats = await dataStats(ds, { skipBad: true });
  for (const [id, pixels] of Object.entries(stats.pixelsPerTrainId)) {
    if (pixels > 0) log(CITYSCAPES_CLASSES[Number(id)], pixels);
  }
  log(JSON.stringify({ images: stats.images, ignore: stats.ignorePixels, bad: stats.bad }));
  // Fixture (make-fixtures.ts makeGta5): 3 images 6×3; road 6, sidewalk 12, vegetation 6, car 6, truck 6, bus 6,
  // motorcycle 6, ignore 6.
  expect(lines).toEqual([
    '00001 6 3 18',
    'road 6',
    'sidewalk 12',
    'vegetation 6',
    'car 6',
    'truck 6',
    'bus 6',
    'motorcycle 6',
    '{"images":3,"ignore":6,"bad":0}',
  ]);
});
