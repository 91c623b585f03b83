import { describe, expect, it } from 'vitest';
import { DatasetError } from './image-io.js';
import { dataStats } from './stats.js';
import type { Dataset, Sample } from './types.js';

/** In-memory dataset: sample i has a 2×2 label [i % 3, i % 3, 255, labels[i]] (or none when labels[i] < 0). */
function memoryDataset(labels: number[], failAt = -1): Dataset {
  return {
    name: 'memory',
    length: labels.length,
    numClasses: 3,
    async get(i: number): Promise<Sample> {
      if (i === failAt) throw new DatasetError(`/data/${i}.png`, 'cannot decode image (test)');
      const s: Sample = { image: new Uint8Array(12), width: 2, height: 2, name: String(i) };
      if (labels[i] >= 0) s.label = Uint8Array.from([i % 3, i % 3, 255, labels[i]]);
      return s;
    },
  };
}

describe('dataStats on any Dataset', () => {
  it('counts pixels per train id and ignore, with several samples in flight', async () => {
    // i=0: 0,0,255,1   i=1: 1,1,255,2   i=2: unlabeled   i=3: 0,0,255,0   i=4: 1,1,255,1
    // → id0: 2+3 = 5, id1: 1+2+3 = 6, id2: 1, ignore 4; 4 of 5 images labeled
    const st = await dataStats(memoryDataset([1, 2, -1, 0, 1]), { concurrency: 3 });
    expect(st).toEqual({
      dataset: 'memory',
      images: 5,
      labeledImages: 4,
      pixelsPerTrainId: { 0: 5, 1: 6, 2: 1 },
      ignorePixels: 4,
      bad: 0,
      badFiles: [],
    });
    expect(JSON.parse(JSON.stringify(st))).toEqual(st);
  });

  it('label values outside the label space throw; DatasetErrors throw unless skipBad', async () => {
    await expect(dataStats(memoryDataset([1, 7]))).rejects.toThrow('1 has label value 7, not a train id (0..2) or 255');
    await expect(dataStats(memoryDataset([1, 1, 1], 1))).rejects.toThrow('/data/1.png: cannot decode image');
    const warnings: string[] = [];
    const st = await dataStats(memoryDataset([1, 1, 1], 1), { skipBad: true, onWarning: (m) => warnings.push(m) });
    expect([st.images, st.bad, st.badFiles, warnings]).toEqual([
      2,
      1,
      [{ file: '/data/1.png', reason: 'cannot decode image (test)' }],
      ['skipping /data/1.png: cannot decode image (test)'],
    ]);
    const progress: number[] = [];
    await dataStats(memoryDataset([0, 0]), { onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2]);
  });
});
