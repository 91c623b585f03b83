import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySet, loadConfig, PRESETS, parseDatasetString } from './config.js';
import { RoadError } from './errors.js';
import { planWeights } from './parts.js';

function errorOf(fn: () => unknown): RoadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RoadError);
    return e as RoadError;
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('has the ablation presets, oracle marked as an upper bound', () => {
    expect(Object.keys(PRESETS).sort()).toEqual([
      'dst',
      'oracle',
      'road',
      'road-hydraplus',
      'road-hydraplus-paper',
      'source-only',
      'spt',
    ]);
    const oracle = loadConfig('oracle');
    expect(oracle.upperBound).toBe(true);
    expect(oracle.trainOnTarget).toBe(true);
    expect(PRESETS.oracle.description).toMatch(/UPPER BOUND/);
    const so = loadConfig('source-only');
    expect(so.lambda).toEqual({ dst: 0, spt: 0 });
    expect(so.upperBound).toBe(false);
    const road = loadConfig('road');
    expect(road.lambda.dst).toBeGreaterThan(0);
    expect(road.lambda.spt).toBeGreaterThan(0);
    expect(road.grid).toEqual([3, 3]);
    expect(loadConfig('road-hydraplus').net.attention).toBe('hydraplus');
    expect(loadConfig('road-hydraplus').net.hydraplus).toEqual({ modules: 'shared' });
    expect(loadConfig('road-hydraplus-paper').net).toMatchObject({
      attention: 'hydraplus',
      hydraplus: { modules: 'separate', sources: [2, 3], maps: 4 },
    });
    expect(loadConfig('dst').lambda.spt).toBe(0);
    expect(loadConfig('spt').lambda.dst).toBe(0);
    // One setting for every adversarial preset: the classifiers see L2-normalised features unless told otherwise.
    for (const preset of ['spt', 'road', 'road-hydraplus', 'road-hydraplus-paper'])
      expect(loadConfig(preset).sptFeatures).toBe('l2');
    expect(loadConfig('road', ['sptFeatures=raw']).sptFeatures).toBe('raw');
    expect(() => loadConfig('spt', ['sptFeatures=tanh'])).toThrow(/sptFeatures/);
  });

  it('turns net.hydraplus into net options a checkpoint records, and refuses bad values', () => {
    expect(planWeights(loadConfig('road-hydraplus')).netOptions).toEqual({});
    expect(planWeights(loadConfig('road-hydraplus-paper')).netOptions).toEqual({
      attentionModules: 'separate',
      attentionSources: [2, 3],
      attentionMaps: 4,
    });
    // ignored without HydraPlus
    expect(planWeights(loadConfig('road', ['net.hydraplus.modules=separate'])).netOptions).toEqual({});
    expect(errorOf(() => loadConfig('road', ['net.hydraplus.modules=paper'])).message).toMatch(
      /net\.hydraplus\.modules/,
    );
    expect(errorOf(() => loadConfig('road', ['net.hydraplus.sources=[0]'])).message).toMatch(/net\.hydraplus\.sources/);
  });

  it('resolves dataset strings with role default splits', () => {
    const c = loadConfig('road');
    expect(c.source).toEqual({ kind: 'synthcity', split: 'source' });
    expect(c.target).toEqual({ kind: 'synthcity', split: 'target-train' });
    expect(c.val).toEqual({ kind: 'synthcity', split: 'target-val' });
    expect(parseDatasetString('gta5:/data/GTA5')).toEqual({ kind: 'gta5', root: '/data/GTA5' });
    expect(parseDatasetString('cityscapes:/d/cs#val')).toEqual({ kind: 'cityscapes', root: '/d/cs', split: 'val' });
    const g = loadConfig('road', ['source=gta5:/data/GTA5', 'target=cityscapes:/data/cs', 'val=cityscapes:/data/cs']);
    expect(g.source).toEqual({ kind: 'gta5', root: '/data/GTA5' });
    expect(g.val).toEqual({ kind: 'cityscapes', root: '/data/cs', split: 'val' });
  });

  it('applies --set overrides with JSON values, grid/crop shorthands', () => {
    const c = loadConfig('road', [
      'lambda.dst=0.25',
      'grid=2x4',
      'crop=64x96',
      'flip=false',
      'optimizer.name=sgd',
      'steps=7',
    ]);
    expect(c.lambda.dst).toBe(0.25);
    expect(c.grid).toEqual([2, 4]);
    expect(c.crop).toEqual([64, 96]);
    expect(c.flip).toBe(false);
    expect(c.optimizer.name).toBe('sgd');
    expect(c.steps).toBe(7);
    const v = loadConfig('road', ['val.split=target-train']);
    expect(v.val).toEqual({ kind: 'synthcity', split: 'target-train' });
    expect(applySet({}, 'a.b.c=[1,2]')).toEqual({ a: { b: { c: [1, 2] } } });
  });

  it('rejects an unknown preset, naming it and listing the known ones', () => {
    const e = errorOf(() => loadConfig('raod'));
    expect(e.message).toMatch(/unknown preset "raod"/);
    expect(e.message).toMatch(/source-only/);
    expect(e.exitCode).toBe(2);
  });

  it('rejects unknown keys and bad values, naming the key', () => {
    expect(errorOf(() => loadConfig('road', ['lamda.dst=1'])).message).toMatch(/unknown config key "lamda"/);
    expect(errorOf(() => loadConfig('road', ['lambda.dts=1'])).message).toMatch(/unknown config key "lambda.dts"/);
    expect(errorOf(() => loadConfig('road', ['lambda.dst=abc'])).message).toMatch(/config key "lambda.dst"/);
    expect(errorOf(() => loadConfig('road', ['lambda.spt=-1'])).message).toMatch(/config key "lambda.spt"/);
    expect(errorOf(() => loadConfig('road', ['backend=cuda'])).message).toMatch(/config key "backend"/);
    expect(errorOf(() => loadConfig('road', ['source=imagenet:/x'])).message).toMatch(
      /unknown dataset kind "imagenet"/,
    );
    expect(errorOf(() => loadConfig('road', ['source=gta5'])).message).toMatch(/needs a root folder/);
    expect(errorOf(() => loadConfig('road', ['nokeyvalue'])).message).toMatch(/expected key=value/);
  });

  it('loads JSON files that extend a preset; bad files are named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-config-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ preset: 'spt', steps: 12, grid: [2, 2] }));
    const c = loadConfig(f);
    expect(c.lambda.dst).toBe(0);
    expect(c.steps).toBe(12);
    expect(c.grid).toEqual([2, 2]);
    writeFileSync(f, '{ nope');
    expect(errorOf(() => loadConfig(f)).message).toContain(f);
    writeFileSync(f, JSON.stringify({ preset: 'nope' }));
    expect(errorOf(() => loadConfig(f)).message).toMatch(/unknown preset "nope"/);
    writeFileSync(f, JSON.stringify({ stepz: 3 }));
    const e = errorOf(() => loadConfig(f));
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/"stepz"/);
    expect(errorOf(() => loadConfig(join(dir, 'missing.json'))).message).toMatch(/config file not found/);
  });
});

describe('config dataset objects', () => {
  it('names bad keys inside a dataset object', () => {
    expect(errorOf(() => loadConfig('road', ['val.splt=x'])).message).toMatch(/unknown config key "val.splt"/);
    expect(errorOf(() => loadConfig('road', ['val.kind=nope'])).message).toMatch(/config key "val.kind"/);
    expect(errorOf(() => loadConfig('road', ['val=3'])).message).toMatch(/config key "val": expected a dataset/);
  });
});
