import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWeightFile } from '@road/backbone';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { latestCheckpoint, readCheckpoint } from './checkpoint.js';
import { road } from './cli-in-process.js';
import { loadConfig } from './config.js';
import { buildParts } from './parts.js';
import { loadNetFromCheckpoint } from './predict.js';
import { trainRun } from './trainer.js';

const FIXTURES = join(__dirname, '../../../packages/backbone/fixtures/weights');
const KERAS_VGG = join(FIXTURES, 'vgg16-w16-keras-notop.h5');
const TORCH_VGG = join(FIXTURES, 'vgg16-w16.safetensors');
const DEEPLAB = join(FIXTURES, 'deeplabv2-w32.pth');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-weights-${p}-`));

// vgg16-fcn at 1/16 width (the fixtures' width) on 32×32 crops, cpu.
const VGG = [
  'backend=cpu',
  'net.name=vgg16-fcn',
  'net.width=0.0625',
  'crop=[32,32]',
  'batch.source=1',
  'batch.target=1',
];

afterEach(() => vi.restoreAllMocks());

describe('net.weights / teacher.weights', () => {
  it('road preset + net.weights: student and frozen teacher start from the same file; caffe normalisation from Keras', () => {
    const config = loadConfig('road', [...VGG, `net.weights=${KERAS_VGG}`]);
    const parts = buildParts(config, 8);
    try {
      expect(parts.normalization).toBe('caffe');
      expect(parts.identity.normalization).toBe('caffe');
      expect(parts.teacher).not.toBeNull();
      const file = readWeightFile(KERAS_VGG).tensors.get('block3_conv2/kernel:0')!.data as Float32Array;
      const student = parts.net.backbone.getLayer('block3_conv2').getWeights()[0].dataSync();
      const teacher = parts.teacherNet!.backbone.getLayer('block3_conv2').getWeights()[0].dataSync();
      expect(Array.from(student)).toEqual(Array.from(file));
      expect(Array.from(teacher)).toEqual(Array.from(file));
      expect(parts.teacherNet).not.toBe(parts.net);
    } finally {
      parts.dispose();
    }
  });

  it('net.normalization overrides the origin; teacher.weights alone initialises the student (initStudent)', () => {
    const config = loadConfig('road', [...VGG, `teacher.weights=${TORCH_VGG}`, 'net.normalization=tf']);
    const parts = buildParts(config, 8);
    try {
      expect(parts.normalization).toBe('tf');
      const file = readWeightFile(TORCH_VGG).tensors.get('features.0.bias')!.data as Float32Array;
      expect(Array.from(parts.net.backbone.getLayer('block1_conv1').getWeights()[1].dataSync())).toEqual(
        Array.from(file),
      );
    } finally {
      parts.dispose();
    }
  });

  it('deeplabv2-resnet from an AdaptSegNet-style file: depth 101, BN epsilon from the file, caffe', () => {
    const config = loadConfig('road', [
      'backend=cpu',
      'net.name=deeplabv2-resnet',
      'net.depth=101',
      'net.width=0.03125',
      `net.weights=${DEEPLAB}`,
    ]);
    const parts = buildParts(config, 19);
    try {
      expect(parts.normalization).toBe('caffe');
      expect(parts.identity.options).toEqual({ depth: 101, bnEpsilon: 1e-5, strideIn: '1x1' });
      expect(parts.net.options.bnEpsilon).toBe(1e-5);
    } finally {
      parts.dispose();
    }
  });

  it('errors: a file of another net (with the load report), a missing file, no teacher at all', () => {
    expect(() => buildParts(loadConfig('road', [...VGG, `net.weights=${DEEPLAB}`]), 8)).toThrow(
      /config key "net\.weights": .*deeplabv2-w32\.pth \(pytorch-zip, map deeplab-v2\) → vgg16-fcn\nmatched 0, missing 26/,
    );
    expect(() => buildParts(loadConfig('road', [...VGG, 'net.weights=/nope/x.pth']), 8)).toThrow(
      /config key "net\.weights": \/nope\/x\.pth: cannot read the weight file \(ENOENT\)/,
    );
    expect(() => buildParts(loadConfig('road', VGG), 8)).toThrow(/lambda\.dst > 0 needs a teacher: set net\.weights/);
  });

  it('a run records the resolved normalisation in config.json and checkpoints; eval/predict load it', async () => {
    const dir = tmp('run');
    const config = loadConfig('road', [...VGG, `net.weights=${KERAS_VGG}`, 'steps=2', 'evalLimit=1', 'grid=2x2']);
    await trainRun(config, { outDir: dir, log: () => {}, quiet: true, gridRows: 1 });
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).net.normalization).toBe('caffe');
    const ck = latestCheckpoint(join(dir, 'checkpoints'))!;
    expect(readCheckpoint(ck).manifest.net.normalization).toBe('caffe');
    const loaded = loadNetFromCheckpoint(ck);
    expect(loaded.normalization).toBe('caffe');
    loaded.net.dispose();
    const r = await road('eval', '--run', dir, '--limit', '1', '--backend', 'cpu');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/mIoU/);
  });
});

describe('road weights inspect', () => {
  it('without --net: format, layout and every tensor', async () => {
    const r = await road('weights', 'inspect', TORCH_VGG);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/safetensors, 32 tensors, layout torchvision-vgg16 .*input normalisation torch/);
    expect(r.out).toMatch(/\nfeatures\.0\.weight\tfloat32\t\[4, 3, 3, 3\]\n/);
  });

  it('--net: exit 0 and "matched" counts when strict, 2 with the report otherwise; a malicious file is refused', async () => {
    const ok = await road('weights', 'inspect', KERAS_VGG, '--net', 'vgg16-fcn', '--width', '0.0625');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/matched 26, missing 0, unexpected 0, shape-mismatched 0/);
    const dl = await road(
      'weights',
      'inspect',
      DEEPLAB,
      '--net',
      'deeplabv2-resnet',
      '--depth',
      '101',
      '--width',
      '0.03125',
    );
    expect(dl.code, dl.err).toBe(0);
    expect(dl.out).toMatch(/matched 520, .* skipped 112/);
    const bad = await road('weights', 'inspect', DEEPLAB, '--net', 'vgg16-fcn', '--width', '0.0625');
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/matched 0, missing 26, unexpected 520/);
    expect(bad.err).toMatch(/does not load strictly into vgg16-fcn/);
    const evil = await road('weights', 'inspect', join(FIXTURES, 'evil-os-system.pth'));
    expect(evil.code).toBe(2);
    expect(evil.err).toMatch(/evil-os-system\.pth: refused: .*'posix\.system'/);
  });
});
