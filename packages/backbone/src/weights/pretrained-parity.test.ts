import { join } from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { model as makeModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relError } from '../../test/helpers.js';
import type { SegmentationNetOptions } from '../net-architecture.js';
import { type InputNormalization, normalizeInput } from '../preprocess.js';
import { createSegmentationNet, type SegmentationNet } from '../segmentation-net.js';
import { formatLoadReport, loadPretrainedWeights, PretrainedLoadError } from './load-pretrained.js';
import { readWeightFile } from './read-weight-file.js';
import { fixedImage, reference, WEIGHTS_DIR } from './weights-fixtures.js';

const TOL = 1e-4;
const errors: string[] = [];
const file = (f: string) => join(WEIGHTS_DIR, f);

function input(ref: Record<string, unknown>, norm: InputNormalization): tf.Tensor4D {
  const [n, h, w, c] = ref.input as number[];
  return tf.tidy(() => normalizeInput(tf.tensor4d(fixedImage(h, w), [n, h, w, c]), norm));
}

function net(name: string, options: Omit<SegmentationNetOptions, 'seed'>): SegmentationNet {
  return createSegmentationNet(name, { seed: 3, ...options });
}

function compare(actual: tf.Tensor, expected: number[], shape?: number[]): number {
  if (shape) expect(actual.shape).toEqual(shape);
  const e = relError(actual.dataSync(), expected);
  errors.push(`${tf.getBackend()} ${expect.getState().currentTestName}: ${e.toExponential(2)}`);
  return e;
}

const VGG_W16 = { numClasses: 10, widthMultiplier: 1 / 16, dropout: 0 };
const RESNET_W32 = { numClasses: 10, depth: 101, widthMultiplier: 1 / 32, bnEpsilon: 1e-5 };

afterAll(async () => {
  if (process.env.ROAD_PRINT_ERRORS) console.log(errors.join('\n'));
  await tf.setBackend('cpu');
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`pretrained weights match PyTorch (${backend})`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });

    for (const f of ['vgg16-w16.pth', 'vgg16-w16.safetensors']) {
      it(`torchvision VGG16 ${f} → vgg16-fcn: trunk (stride 32 and 16) and fc6/fc7 as 7×7/1×1 convs`, () => {
        const ref = reference()['vgg16-w16'];
        const x = input(ref, 'torch');
        const a = net('vgg16-fcn', { ...VGG_W16, outputStride: 32, fc6Kernel: 7, headChannels: 1024 });
        const r = loadPretrainedWeights(a, file(f));
        expect(r.map).toBe('torchvision-vgg16');
        expect(r.normalization).toBe('torch');
        expect(r.matched).toHaveLength(13 * 2 + 4);
        expect(r.skipped.map((s) => s.source)).toEqual(['classifier.6.weight', 'classifier.6.bias']);
        expect(r.untouched).toEqual(['score/kernel', 'score/bias']);
        const feats = a.features(x);
        expect(compare(feats, ref.features_os32 as number[], ref.features_os32_shape as number[])).toBeLessThan(TOL);
        // fc7 at the centre of the 7×7 map = torchvision's classifier[:5] on the flattened pool5 output
        const fc7 = makeModel({ inputs: a.head.inputs, outputs: a.head.getLayer('fc7').output as SymbolicTensor });
        const y = fc7.predict(feats) as tf.Tensor4D;
        const centre = tf.slice(y, [0, 3, 3, 0], [1, 1, 1, -1]);
        expect(compare(centre, ref.fc7 as number[])).toBeLessThan(TOL);
        tf.dispose([x, feats, y, centre]);
        a.dispose();

        // stride 16 with the default 3×3 fc6: the trunk loads, fc6/fc7 and the classifier are skipped by rule
        const b = net('vgg16-fcn', VGG_W16);
        const r16 = loadPretrainedWeights(b, file(f));
        expect(r16.skipped).toHaveLength(6);
        expect(r16.skipped[0].reason).toMatch(/fc6 is 3×3, not 7×7/);
        expect(r16.untouched).toEqual([
          'fc6/kernel',
          'fc6/bias',
          'fc7/kernel',
          'fc7/bias',
          'score/kernel',
          'score/bias',
        ]);
        const x2 = input(ref, 'torch');
        const f16 = b.features(x2);
        expect(compare(f16, ref.features_os16 as number[], ref.features_os16_shape as number[])).toBeLessThan(TOL);
        tf.dispose([x2, f16]);
        b.dispose();
      });
    }

    it('Keras VGG16 notop HDF5 → vgg16-fcn (caffe input normalisation)', () => {
      const ref = reference()['vgg16-w16-keras'];
      const a = net('vgg16-fcn', VGG_W16);
      const r = loadPretrainedWeights(a, file('vgg16-w16-keras-notop.h5'));
      expect([r.map, r.normalization, r.matched.length]).toEqual(['keras', 'caffe', 26]);
      const x = input(ref, 'caffe');
      const f = a.features(x);
      expect(compare(f, ref.features_os16 as number[], ref.features_os16_shape as number[])).toBeLessThan(TOL);
      tf.dispose([x, f]);
      a.dispose();
    });

    it('Keras whole-model HDF5 (model_weights/, Keras ResNet names) → deeplabv2-resnet: DeepLab features', () => {
      const ref = reference()['deeplabv2-w32'];
      const a = net('deeplabv2-resnet', { numClasses: 5, depth: 101, widthMultiplier: 1 / 32 });
      const r = loadPretrainedWeights(a, file('deeplabv2-w32-keras-model.h5'));
      expect([r.format, r.map, r.normalization]).toEqual(['keras-h5', 'keras', 'caffe']);
      expect(r.matched).toHaveLength(104 * 2 + 104 * 4);
      expect(r.untouched).toHaveLength(8); // the ASPP head: Keras ResNet files have none
      const x = input(ref, 'caffe');
      const feats = a.features(x);
      expect(compare(feats, ref.features_os8 as number[], ref.features_os8_shape as number[])).toBeLessThan(TOL);
      tf.dispose([x, feats]);
      a.dispose();
    });

    for (const f of ['resnet101-w32.pth', 'resnet101-w32.legacy.pth', 'resnet101-w32.safetensors']) {
      it(`torchvision ResNet-101 ${f} → deeplabv2-resnet (strideIn 3x3, stride 32)`, () => {
        const ref = reference()['resnet101-w32'];
        const a = net('deeplabv2-resnet', { ...RESNET_W32, outputStride: 32, strideIn: '3x3' });
        const r = loadPretrainedWeights(a, file(f));
        expect(r.map).toBe('torchvision-resnet');
        expect(r.notes).toEqual([]);
        // 104 convs (conv1, 33 blocks × 3, 4 projections) and as many BNs with 4 tensors each
        expect(r.matched).toHaveLength(104 + 104 * 4);
        expect(r.zeroFilled).toHaveLength(104);
        expect(r.skipped.filter((s) => s.reason.includes('step counter'))).toHaveLength(104);
        expect(r.skipped.filter((s) => s.reason.includes('ImageNet classifier'))).toHaveLength(2);
        const x = input(ref, 'torch');
        const feats = a.features(x);
        expect(compare(feats, ref.features_os32 as number[], ref.features_os32_shape as number[])).toBeLessThan(TOL);
        tf.dispose([x, feats]);
        a.dispose();
      });
    }

    for (const f of ['deeplabv2-w32.pth', 'deeplabv2-w32.safetensors']) {
      it(`AdaptSegNet-style DeepLab-v2 ${f} (Scale.*, layer5) → deeplabv2-resnet: features and ASPP logits`, () => {
        const ref = reference()['deeplabv2-w32'];
        const a = net('deeplabv2-resnet', { ...RESNET_W32, numClasses: 5 });
        const r = loadPretrainedWeights(a, file(f));
        expect([r.map, r.normalization]).toEqual(['deeplab-v2', 'caffe']);
        expect(r.untouched).toEqual([]);
        expect(r.matched.filter((m) => m.includes('aspp_rate'))).toHaveLength(8);
        const x = input(ref, 'caffe');
        const feats = a.features(x);
        const logits = a.logits(x);
        expect(compare(feats, ref.features_os8 as number[], ref.features_os8_shape as number[])).toBeLessThan(TOL);
        expect(compare(logits, ref.logits as number[], ref.logits_shape as number[])).toBeLessThan(TOL);
        tf.dispose([x, feats, logits]);
        a.dispose();
      });
    }
  });
}

describe('load report', () => {
  it('a file of the wrong net fails strictly with the report, and writes nothing', async () => {
    await tf.setBackend('cpu');
    const resnet = net('deeplabv2-resnet', RESNET_W32);
    const before = resnet.model.getWeights().map((w) => w.dataSync().slice());
    let err: unknown;
    try {
      loadPretrainedWeights(resnet, file('vgg16-w16.pth'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PretrainedLoadError);
    const r = (err as PretrainedLoadError).report;
    expect(r.matched).toHaveLength(0);
    expect(r.unexpected).toHaveLength(26);
    expect(r.skipped).toHaveLength(6);
    expect(r.missing.length).toBeGreaterThan(500);
    expect((err as Error).message).toMatch(/vgg16-w16\.pth: does not load strictly into deeplabv2-resnet/);
    expect((err as Error).message).toMatch(/matched 0, missing \d+, unexpected 26/);
    for (const [i, w] of resnet.model.getWeights().entries()) expect(w.dataSync()).toEqual(before[i]);
    resnet.dispose();

    const vgg = net('vgg16-fcn', VGG_W16);
    expect(() => loadPretrainedWeights(vgg, file('resnet101-w32.safetensors'))).toThrow(/missing 26, unexpected/);
    // a width mismatch is reported as shape-mismatched
    const wide = net('vgg16-fcn', { ...VGG_W16, widthMultiplier: 1 / 8 });
    const r2 = loadPretrainedWeights(wide, file('vgg16-w16.safetensors'), { strict: false, dryRun: true });
    expect(r2.mismatched.length).toBe(26);
    expect(r2.mismatched[0]).toEqual({
      source: 'features.0.weight',
      target: 'block1_conv1/kernel',
      sourceShape: [4, 3, 3, 3],
      targetShape: [3, 3, 3, 8],
    });
    expect(formatLoadReport(r2)).toMatch(
      /shape-mismatched \(26\):\n {2}features\.0\.weight \[4,3,3,3\] → block1_conv1\/kernel \[3,3,3,8\]/,
    );
    vgg.dispose();
    wide.dispose();
  });

  it('DeepLab layer5 of another class count is skipped by rule; BN epsilon / stride notes; non-strict loads what matches', async () => {
    await tf.setBackend('cpu');
    const a = net('deeplabv2-resnet', { numClasses: 19, depth: 101, widthMultiplier: 1 / 32 });
    const r = loadPretrainedWeights(a, file('deeplabv2-w32.pth'));
    expect(r.skipped.filter((s) => s.reason.startsWith('DeepLab classifier'))).toHaveLength(8);
    expect(r.untouched).toHaveLength(8);
    expect(r.notes).toEqual(['weights use BN epsilon 0.00001; the net has bnEpsilon 0.00001001']);
    a.dispose();
  });

  it('control: torchvision ResNet weights in a stride-in-1x1 net load, are flagged, and give other features', async () => {
    await tf.setBackend('cpu');
    const ref = reference()['resnet101-w32'];
    const a = net('deeplabv2-resnet', { ...RESNET_W32, outputStride: 32 });
    const r = loadPretrainedWeights(a, file('resnet101-w32.safetensors'));
    expect(r.notes).toEqual(["weights stride in the bottleneck's 3x3 conv; the net has strideIn '1x1'"]);
    const x = input(ref, 'torch');
    const f = a.features(x);
    expect(f.shape).toEqual(ref.features_os32_shape);
    expect(relError(f.dataSync(), ref.features_os32 as number[])).toBeGreaterThan(1e-2);
    tf.dispose([x, f]);
    a.dispose();
  });

  it("HydraPlus: attentive `_hp` batch norms take their base layer's statistics; attention layers stay untouched", async () => {
    await tf.setBackend('cpu');
    const a = net('deeplabv2-resnet', { ...RESNET_W32, numClasses: 5, attention: 'hydraplus', attentionMaps: 1 });
    const r = loadPretrainedWeights(a, file('deeplabv2-w32.pth'));
    expect(r.strictOk).toBe(true);
    expect(r.untouched.length).toBeGreaterThan(0);
    expect(r.untouched.every((u) => u.startsWith('hp_'))).toBe(true);
    const base = a.backbone.getLayer('conv4_block2_1_bn').getWeights();
    const hp = a.backbone.getLayer('conv4_block2_1_bn_hp').getWeights();
    expect(hp).toHaveLength(4);
    for (const [i, w] of hp.entries()) expect(Array.from(w.dataSync())).toEqual(Array.from(base[i].dataSync()));
    a.dispose();
  });

  it('loading leaks no tensors', async () => {
    await tf.setBackend('cpu');
    const a = net('vgg16-fcn', VGG_W16);
    const w = readWeightFile(file('vgg16-w16.safetensors'));
    const before = tf.memory().numTensors;
    loadPretrainedWeights(a, w);
    loadPretrainedWeights(a, w);
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});
