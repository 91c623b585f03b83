import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from './open-dataset.js';
import { makeFolder, tempDir } from './readers/make-fixtures.js';

describe('openDataset', () => {
  let folder: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    folder = await tempDir('open-dataset');
    await makeFolder(folder.dir);
  });
  afterAll(() => folder.cleanup());

  it('opens SynthCity splits with options', async () => {
    const ds = await openDataset({
      kind: 'synthcity',
      split: 'target-val',
      seed: 2,
      options: { width: 64, height: 32, length: 3 },
    });
    expect(ds.name).toBe('synthcity/target-val');
    expect(ds.length).toBe(3);
    const s = await ds.get(2);
    expect([s.width, s.height]).toEqual([64, 32]);
    expect((await openDataset({ kind: 'synthcity' })).name).toBe('synthcity/source');
  });

  it("keeps the neutral pool's rendered labels with options.labels (supervised teacher pretraining), else drops them", async () => {
    const { renderSynthCity } = await import('./synthcity/index.js');
    const plain = await openDataset({ kind: 'synthcity', split: 'neutral', options: { length: 2 } });
    expect((await plain.get(1)).label).toBeUndefined();
    const labelled = await openDataset({ kind: 'synthcity', split: 'neutral', options: { length: 2, labels: true } });
    const s = await labelled.get(1);
    const r = renderSynthCity('neutral', 0, 1);
    expect(Buffer.compare(Buffer.from(s.label as Uint8Array), Buffer.from(r.label as Uint8Array))).toBe(0);
    expect(Buffer.compare(Buffer.from(s.image), Buffer.from(r.image))).toBe(0);
    await expect(openDataset({ kind: 'synthcity', split: 'neutral', options: { labels: 'yes' } })).rejects.toThrow(
      /labels.*true or false.*yes/,
    );
  });

  it('opens both Digits views', async () => {
    const seg = await openDataset({ kind: 'digits', split: 'test', options: { domain: 'mnist-m', length: 4 } });
    expect(seg.numClasses).toBe(11);
    expect((await seg.get(0)).label).toBeDefined();
    const cls = await openDataset({ kind: 'digits', options: { domain: 'mnist', view: 'classification' } });
    expect(cls.numClasses).toBe(10);
    expect(cls.length).toBe(7996);
    expect((await cls.get(0)).classId).toBeTypeOf('number');
  });

  it('dispatches on-disk kinds to the readers', async () => {
    const ds = await openDataset({ kind: 'folder', root: folder.dir });
    expect(ds.length).toBe(2);
    const s = await ds.get(0);
    expect(s.width).toBe(4);
    expect(Array.from(s.label!.subarray(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('gives one clear error for bad specs', async () => {
    await expect(openDataset({ kind: 'kitti' as never })).rejects.toThrow(/unknown dataset kind 'kitti'/);
    await expect(openDataset({ kind: 'synthcity', options: { widht: 3 } })).rejects.toThrow(/unknown option 'widht'/);
    await expect(openDataset({ kind: 'digits' })).rejects.toThrow(/options.domain/);
    await expect(openDataset({ kind: 'digits', options: { domain: 'mnist', view: 'x' } })).rejects.toThrow(
      /options.view/,
    );
    await expect(openDataset({ kind: 'gta5' })).rejects.toThrow(/spec.root/);
    await expect(openDataset({ kind: 'cityscapes', root: `${folder.dir}/nope` })).rejects.toThrow(/nope/);
    await expect(
      openDataset({ kind: 'digits', options: { domain: 'mnist-m', backgrounds: `${folder.dir}/nothing-here` } }),
    ).rejects.toThrow(/nothing-here/);
  });
});
