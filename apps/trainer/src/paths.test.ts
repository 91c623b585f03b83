import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { predictFolder } from './predict.js';

describe('paths: nothing is written outside its folder or over an input', () => {
  it('predict into the input folder is refused before anything is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-predict-paths-'));
    writeFileSync(join(dir, 'a.png'), 'not even an image');
    const before = readFileSync(join(dir, 'a.png'));
    await expect(
      predictFolder({ checkpoint: join(dir, 'no-checkpoint'), inputDir: dir, outputDir: dir }),
    ).rejects.toThrow(`predict would overwrite the input image ${join(dir, 'a.png')}`);
    expect(readFileSync(join(dir, 'a.png')).equals(before)).toBe(true);
  });

  it('two inputs that would write one output are refused by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-predict-paths-'));
    writeFileSync(join(dir, 'a.jpg'), 'x');
    writeFileSync(join(dir, 'a.png'), 'x');
    await expect(
      predictFolder({ checkpoint: join(dir, 'none'), inputDir: dir, outputDir: join(dir, 'out') }),
    ).rejects.toThrow(/inputs a\.jpg and a\.png would both be written to .*out\/a\.png/);
  });

  it('a run name cannot leave runs/: separators and .. are refused naming the key', () => {
    for (const bad of ['../../etc', 'a/b', '..', '', '/abs'])
      expect(() => loadConfig('road', [`name=${bad}`]), bad).toThrow(/name/);
    expect(loadConfig('road', ['name=gta5-road_v2.1']).name).toBe('gta5-road_v2.1');
  });
});
