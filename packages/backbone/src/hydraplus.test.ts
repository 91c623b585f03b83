import * as tf from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel, model, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { expectNoLeak, memoryStore, relError } from '../test/helpers.js';
import { netSuite } from '../test/net-suite.js';
import { countFlops } from './count-flops.js';
import { MdaMultiply, mdaTargets, UnfoldAttentionMaps } from './hydraplus.js';
import { resizeBilinear } from './resize-bilinear.js';
import { copyBackboneWeights, createBackbone, createSegmentationNet } from './segmentation-net.js';

describe('MdaMultiply', () => {
  it('multiplies each of the L maps onto every channel, folding maps into the batch (hand example)', () => {
    tf.tidy(() => {
      // N=1, 1×2 positions, C=2 features; L=2 maps of the same size (no resize)
      const f = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]); // position 0: (1, 2), position 1: (3, 4)
      const a = tf.tensor4d([0.5, 2, 0, 1], [1, 1, 2, 2]); // position 0: maps (0.5, 2), position 1: (0, 1)
      const y = new MdaMultiply({}).apply([f, a]) as tf.Tensor;
      expect(y.shape).toEqual([2, 1, 2, 2]);
      // sample 0 = map 0: (1·0.5, 2·0.5), (3·0, 4·0); sample 1 = map 1: (1·2, 2·2), (3·1, 4·1)
      expect(Array.from(y.dataSync())).toEqual([0.5, 1, 0, 0, 2, 4, 3, 4]);
    });
  });

  it('resizes maps of another level bilinearly to the features first', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([2, 4, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const a = tf.randomUniform([2, 2, 3, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
      const y = new MdaMultiply({}).apply([f, a]) as tf.Tensor;
      const r = resizeBilinear(a, [4, 6]);
      expect(y.shape).toEqual([4, 4, 6, 3]);
      for (let n = 0; n < 2; n++) {
        for (let l = 0; l < 2; l++) {
          const want = tf.mul(tf.slice(f, [n, 0, 0, 0], [1, 4, 6, 3]), tf.slice(r, [n, 0, 0, l], [1, 4, 6, 1]));
          const got = tf.slice(y, [n * 2 + l, 0, 0, 0], [1, 4, 6, 3]);
          expect(relError(got.dataSync(), want.dataSync())).toBeLessThan(1e-6);
        }
      }
    });
  });

  it('reports its output shape and does not leak', () => {
    const layer = new MdaMultiply({});
    expect(
      layer.computeOutputShape([
        [2, 5, 5, 7],
        [2, 3, 3, 8],
      ]),
    ).toEqual([16, 5, 5, 7]);
    expect(
      layer.computeOutputShape([
        [null, null, null, 7],
        [null, null, null, 8],
      ]),
    ).toEqual([null, null, null, 7]);
    const f = tf.ones([1, 3, 3, 2]);
    const a = tf.ones([1, 2, 2, 4]);
    expectNoLeak(() => (layer.apply([f, a]) as tf.Tensor).dispose());
    tf.dispose([f, a]);
  });
});

describe('UnfoldAttentionMaps', () => {
  it('moves the folded maps back into channels, map-major (hand example)', () => {
    tf.tidy(() => {
      // N=2, L=2, one position, C=2: batch rows n·L + l
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [4, 1, 1, 2]);
      const y = new UnfoldAttentionMaps({ maps: 2 }).apply(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 1, 1, 4]);
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const z = new UnfoldAttentionMaps({ maps: 2 }).apply(
        tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]),
      ) as tf.Tensor;
      // one sample, two positions: position p takes (map0[p], map1[p])
      expect(Array.from(z.dataSync())).toEqual([1, 2, 5, 6, 3, 4, 7, 8]);
    });
  });

  it("reduce: 'mean' averages the L maps instead (hand example)", () => {
    tf.tidy(() => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [4, 1, 1, 2]); // N=2, L=2
      const u = new UnfoldAttentionMaps({ maps: 2, reduce: 'mean' });
      const y = u.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 1, 1, 2]);
      expect(Array.from(y.dataSync())).toEqual([(1 + 3) / 2, (2 + 4) / 2, (5 + 7) / 2, (6 + 8) / 2]);
      expect(u.computeOutputShape([4, 3, 3, 2])).toEqual([2, 3, 3, 2]);
    });
  });

  it('round-trips through tfjs serialisation with the custom layer classes registered', () => {
    const u = new UnfoldAttentionMaps({ maps: 3, name: 'u', reduce: 'mean' });
    const u2 = UnfoldAttentionMaps.fromConfig(UnfoldAttentionMaps, u.getConfig()) as UnfoldAttentionMaps;
    expect(u2.maps).toBe(3);
    expect(u2.reduce).toBe('mean');
    expect(u2.getConfig()).toEqual(u.getConfig());
    const m = new MdaMultiply({ name: 'm' });
    expect((MdaMultiply.fromConfig(MdaMultiply, m.getConfig()) as MdaMultiply).getConfig()).toEqual(m.getConfig());
    const registered = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(registered.HydraPlusMdaMultiply?.[0]).toBe(MdaMultiply);
    expect(registered.HydraPlusUnfoldMaps?.[0]).toBe(UnfoldAttentionMaps);
    expect(registered.AtrousConv2D).toBeDefined();
    expect(() => new UnfoldAttentionMaps({ maps: 0 })).toThrow(/maps/);
  });
});

describe('mdaTargets', () => {
  it('are the source stage and its neighbours that exist', () => {
    expect(mdaTargets(3, [-1, 0, 1], 4)).toEqual([2, 3, 4]);
    expect(mdaTargets(1, [-1, 0, 1], 4)).toEqual([1, 2]);
    expect(mdaTargets(4, [1, 0, -1, 0], 4)).toEqual([3, 4]);
    expect(() => mdaTargets(4, [1, 2], 4)).toThrow(/hit no stage/);
  });
});

netSuite({
  title: 'road-lite + HydraPlus (L = 3, widthMultiplier 1/4, 2×16×24 input)',
  name: 'road-lite',
  options: { numClasses: 5, widthMultiplier: 0.25, seed: 2, attention: 'hydraplus', attentionMaps: 3 },
  input: [2, 16, 24, 3],
  featureSize: [2, 3],
  featureChannels: 16,
  outputStride: 8,
});

netSuite({
  title: 'vgg16-fcn + HydraPlus (L = 2, widthMultiplier 1/16, stride 16, 1×32×32 input)',
  name: 'vgg16-fcn',
  options: { numClasses: 4, widthMultiplier: 1 / 16, dropout: 0, seed: 4, attention: 'hydraplus', attentionMaps: 2 },
  input: [1, 32, 32, 3],
  featureSize: [2, 2],
  featureChannels: 32,
  outputStride: 16,
  optimizer: () => tf.train.adam(3e-3),
});

function probe(backbone: LayersModel, names: string[]): LayersModel {
  return model({
    inputs: backbone.inputs,
    outputs: names.map((n) => backbone.getLayer(n).getOutputAt(0) as SymbolicTensor),
  });
}

describe('HydraPlus on road-lite (the documented wiring)', () => {
  const L = 3;
  const opts = { numClasses: 4, widthMultiplier: 0.25, seed: 9, attention: 'hydraplus' as const, attentionMaps: L };

  it('maps from stage 3 are multiplied onto stages 2, 3, 4 and pass the later stages with shared convs', () => {
    const net = createSegmentationNet('road-lite', opts);
    const b = net.backbone;
    const inbound = (n: string) => b.getLayer(n).inboundNodes[0].inboundLayers.map((l) => l.name);
    expect(inbound('hp_att3')).toEqual(['block3_2_relu']);
    expect(inbound('hp_mda3_to2')).toEqual(['block2_2_relu', 'hp_att3_sigmoid']);
    expect(inbound('hp_mda3_to3')).toEqual(['block3_2_relu', 'hp_att3_sigmoid']);
    expect(inbound('hp_mda3_to4')).toEqual(['block4_2_relu', 'hp_att3_sigmoid']);
    // shared convolutions: block3 runs for main + target 2; block4 for main + targets 2 and 3
    expect(b.getLayer('block3_1_conv').inboundNodes.length).toBe(2);
    expect(b.getLayer('block4_2_conv').inboundNodes.length).toBe(3);
    expect(b.getLayer('block2_1_conv').inboundNodes.length).toBe(1);
    // own batch-norm layers in the attentive branch, only where it runs
    const names = b.layers.map((l) => l.name);
    expect(names).toContain('block3_1_bn_hp');
    expect(names).toContain('block4_2_bn_hp');
    expect(names).not.toContain('block2_2_bn_hp');
    // fused: main 16 channels + 3 targets × L maps × 16
    expect(b.getLayer('hp_fuse_conv').inboundNodes[0].inputShapes).toEqual([[null, null, null, 16 + 3 * L * 16]]);
    net.dispose();
  });

  it('multiplies the resized attention maps onto the lower level (checked numerically)', () => {
    const net = createSegmentationNet('road-lite', opts);
    const p = probe(net.backbone, ['block2_2_relu', 'hp_att3_sigmoid', 'hp_mda3_to2']);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 16, 24, 3], 0, 1, 'float32', 3);
      const [f2, alpha, mda] = p.predict(x) as tf.Tensor4D[];
      expect(f2.shape).toEqual([2, 4, 6, 8]);
      expect(alpha.shape).toEqual([2, 2, 3, L]);
      expect(mda.shape).toEqual([2 * L, 4, 6, 8]);
      const up = resizeBilinear(alpha, [4, 6]);
      for (let n = 0; n < 2; n++) {
        for (let l = 0; l < L; l++) {
          const want = tf.mul(tf.slice(f2, [n, 0, 0, 0], [1, 4, 6, 8]), tf.slice(up, [n, 0, 0, l], [1, 4, 6, 1]));
          expect(relError(tf.slice(mda, [n * L + l, 0, 0, 0], [1, 4, 6, 8]).dataSync(), want.dataSync())).toBeLessThan(
            1e-6,
          );
        }
      }
    });
    net.dispose();
  });

  for (const fusion of ['concat', 'sum'] as const)
    it(`with maps ≡ 1 and the main batch-norm statistics, every attentive feature equals the main features (${fusion})`, () => {
      const net = createSegmentationNet('road-lite', { ...opts, attentionFusion: fusion });
      const b = net.backbone;
      // α = sigmoid(0·x + 50) = 1 in float32
      const att = b.getLayer('hp_att3');
      att.setWeights([tf.zeros(att.getWeights()[0].shape), tf.fill([L], 50)]);
      // give the attentive branch the main branch's batch norms, made non-trivial first
      for (const l of b.layers.filter((l) => l.name.endsWith('_bn'))) {
        const [g, be, m, v] = l.getWeights();
        l.setWeights([
          tf.randomUniform(g.shape, 0.5, 1.5, 'float32', 1),
          tf.randomNormal(be.shape, 0, 0.1, 'float32', 2),
          tf.randomNormal(m.shape, 0, 0.1, 'float32', 3),
          tf.randomUniform(v.shape, 0.5, 2, 'float32', 4),
        ]);
      }
      copyBackboneWeights(createBackboneCopy(b), b);
      const p = probe(b, ['block4_2_relu', 'hp_unfold3_to2', 'hp_unfold3_to3', 'hp_unfold3_to4']);
      tf.tidy(() => {
        const x = tf.randomNormal([1, 16, 24, 3], 0, 1, 'float32', 5);
        const [main, ...unfolded] = p.predict(x) as tf.Tensor4D[];
        const tiled = fusion === 'sum' ? main : tf.tile(main, [1, 1, 1, L]);
        expect(tf.max(main).dataSync()[0]).toBeGreaterThan(0);
        for (const u of unfolded) expect(relError(u.dataSync(), tiled.dataSync())).toBeLessThan(1e-5);
        // 'sum' fusion averages identical maps: the features are the main features
        if (fusion === 'sum')
          expect(relError(net.features(x as tf.Tensor4D).dataSync(), main.dataSync())).toBeLessThan(1e-5);
      });
      net.dispose();
    });

  it('its saved topology also loads with plain tf.loadLayersModel and computes the same logits', async () => {
    const net = createSegmentationNet('road-lite', { ...opts, attentionSources: [2, 3] });
    const store = memoryStore();
    await net.save(store.handler);
    const plain = await loadLayersModel(tf.io.fromMemory(store.artifacts()));
    tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 24, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
      expect(Array.from((plain.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(net.logits(x).dataSync()));
    });
    plain.dispose();
    net.dispose();
  });

  it('costs what the design says: attention conv + L·(stages after each target) + fusion (countFlops)', () => {
    const plain = createSegmentationNet('road-lite', { ...opts, attention: 'none' });
    const hp = createSegmentationNet('road-lite', opts);
    const size = [32, 48, 3];
    const a = countFlops(plain, size);
    const h = countFlops(hp, size);
    const stage = (k: number) => a.byLayer[`block${k}_1_conv`] + a.byLayer[`block${k}_2_conv`];
    // positions at stride 8: 4·6 = 24; att conv 2·16·L per position; fuse 2·(16 + 9·16)·16 per position
    const expected = 24 * 2 * 16 * L + L * (stage(3) + stage(4)) + L * stage(4) + 24 * 2 * (16 + 3 * L * 16) * 16;
    expect(h.total - a.total).toBe(expected);
    expect(h.byLayer.block4_1_conv).toBe((1 + 2 * L) * a.byLayer.block4_1_conv); // main + L from target 2 + L from target 3
    plain.dispose();
    hp.dispose();
  });

  it('attention generated from several sources, and on deeplabv2-resnet (generic over stages)', () => {
    const net = createSegmentationNet('road-lite', { ...opts, attentionSources: [2, 3], attentionLevels: [0, 1] });
    const names = net.backbone.layers.map((l) => l.name);
    for (const n of ['hp_mda2_to2', 'hp_mda2_to3', 'hp_mda3_to3', 'hp_mda3_to4']) expect(names).toContain(n);
    expect(names).not.toContain('hp_mda3_to2');
    net.dispose();
    const dl = createSegmentationNet('deeplabv2-resnet', {
      numClasses: 3,
      widthMultiplier: 1 / 32,
      seed: 1,
      attention: 'hydraplus',
      attentionMaps: 2,
    });
    tf.tidy(() => {
      expect(dl.features(tf.zeros([1, 17, 17, 3]) as tf.Tensor4D).shape).toEqual([1, 3, 3, 64]);
    });
    const dlNames = dl.backbone.layers.map((l) => l.name);
    expect(dlNames).toContain('hp_fuse_average'); // deeplabv2-resnet fuses by averaging by default
    expect(dlNames).not.toContain('hp_fuse_conv');
    expect(dlNames).toContain('conv4_block1_1_bn_hp'); // maps from conv4 onto conv3's output pass conv4 and conv5
    expect(dlNames).not.toContain('conv3_block1_1_bn_hp');
    dl.dispose();
    expect(() => createSegmentationNet('road-lite', { ...opts, attentionSources: [5] })).toThrow(
      /source stage 5 is not in 1..4/,
    );
  });
});

/** A plain backbone holding the same main-branch weights as `b` (to copy its batch norms into the `_hp` ones). */
function createBackboneCopy(b: LayersModel): LayersModel {
  const plain = createBackbone('road-lite', { widthMultiplier: 0.25 });
  for (const l of plain.layers) if (l.weights.length) l.setWeights(b.getLayer(l.name).getWeights());
  return plain;
}
