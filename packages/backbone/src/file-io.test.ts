import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { input, layers, loadLayersModel, model, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { nodeFileHandler, readArtifacts, resolveLoadSource, resolveSaveTarget } from './file-io.js';

describe('nodeFileHandler', () => {
  it('writes model.json + weights.bin that tf.loadLayersModel reads back (weights, metadata)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'road-io-'));
    const x = input({ shape: [3] });
    const m = model({ inputs: x, outputs: layers.dense({ units: 2, name: 'd' }).apply(x) as SymbolicTensor });
    m.setUserDefinedMetadata({ hello: 'world' });
    await m.save(nodeFileHandler(dir));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(json.userDefinedMetadata).toEqual({ hello: 'world' });
    expect((await readFile(join(dir, 'weights.bin'))).byteLength).toBe((3 * 2 + 2) * 4);
    const back = await loadLayersModel(nodeFileHandler(dir));
    const a = m.getLayer('d').getWeights();
    back
      .getLayer('d')
      .getWeights()
      .forEach((t, i) => {
        expect(Array.from(t.dataSync())).toEqual(Array.from(a[i].dataSync()));
      });
    expect((await readArtifacts(`file://${dir}/model.json`)).userDefinedMetadata).toEqual({ hello: 'world' });
    m.dispose();
    back.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('names the file in its errors and refuses unknown URL schemes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'road-io-'));
    await expect(nodeFileHandler(join(dir, 'none')).load!()).rejects.toThrow(/cannot read .*none\/model.json/);
    await writeFile(join(dir, 'model.json'), '{ not json');
    await expect(nodeFileHandler(dir).load!()).rejects.toThrow(/model.json is not valid JSON/);
    expect(() => resolveSaveTarget('s3://bucket/x')).toThrow(/no save handler for 's3:\/\/bucket\/x'/);
    expect(() => resolveLoadSource('s3://bucket/x')).toThrow(/no load handler/);
    expect(() => nodeFileHandler('')).toThrow(/non-empty/);
    const h = tf.io.fromMemory({});
    expect(resolveLoadSource(h)).toBe(h);
    await rm(dir, { recursive: true, force: true });
  });
});
