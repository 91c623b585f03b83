import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
// biome-ignore lint/correctness/useImportExtensions: a JSON file keeps its own extension
import fixture from '../fixtures/hydraplus_paper.json';
import { expectNoLeak, memoryStore, relError } from '../test/helpers.js';
import { copyBackboneWeights, createBackbone, createSegmentationNet, loadSegmentationNet } from './segmentation-net.js';

// HydraPlus-Net's paper form (`attentionModules: 'separate'`) against its PyTorch twin
// (fixtures/make_hydraplus_paper.py: road-lite at width 1/4, L = 2 maps, modules at stages 2 and 3, levels −1, 0, 1).
const opts = { ...(fixture.options as { attentionModules: 'separate' }), numClasses: 4, seed: 3 };

/** The closed-form weight of make_hydraplus_paper.py for tfjs weight `name` (`layer/kind`) of `shape`. */
function closedForm(name: string, shape: number[]): Float32Array {
  const [layer, kind] = name.split('/');
  let k = 0;
  for (let p = 0; p < layer.length; p++) k += layer.charCodeAt(p) * (p + 1);
  k = (k % 1000) / 10;
  const n = shape.reduce((a, b) => a * b, 1);
  const fanIn = kind === 'kernel' ? shape[0] * shape[1] * shape[2] : 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v: Record<string, () => number> = {
      kernel: () => Math.sin(0.37 * i + k) / Math.sqrt(fanIn),
      bias: () => 0.05 * Math.cos(0.5 * i + k),
      gamma: () => 1 + 0.2 * Math.sin(0.7 * i + k),
      beta: () => 0.1 * Math.cos(0.3 * i + k),
      moving_mean: () => 0.1 * Math.sin(1.1 * i + k),
      moving_variance: () => 1 + 0.5 * Math.sin(0.9 * i + k) ** 2,
    };
    if (!v[kind]) throw new Error(`no closed form for ${name}`);
    out[i] = v[kind]();
  }
  return out;
}

function input(): tf.Tensor4D {
  const [n, h, w, c] = fixture.input;
  const x = new Float32Array(n * h * w * c);
  for (let j = 0; j < x.length; j++) x[j] = Math.sin(0.13 * j) + 0.2 * Math.cos(0.05 * j);
  return tf.tensor4d(x, [n, h, w, c]);
}

describe("HydraPlus-Net's paper form (attentionModules: 'separate')", () => {
  it('gives each MDA module its own attentive branch (copies of stages s…K) that all its levels run through', () => {
    const net = createSegmentationNet('road-lite', opts);
    const b = net.backbone;
    const names = b.layers.map((l) => l.name);
    // module 2 owns stages 2–4, module 3 stages 3–4; no attentive batch norm shared with the main convs
    for (const n of ['hp_m2_block2_1_conv', 'hp_m2_block4_2_bn', 'hp_m3_block3_1_conv', 'hp_m3_block4_2_conv'])
      expect(names).toContain(n);
    expect(names).not.toContain('hp_m3_block2_1_conv');
    expect(names.some((n) => n.endsWith('_bn_hp'))).toBe(false);
    // the main convs run once; module 3's block4 runs for its levels 2 and 3 (level 4 passes no later stage)
    expect(b.getLayer('block4_2_conv').inboundNodes.length).toBe(1);
    expect(b.getLayer('hp_m3_block4_2_conv').inboundNodes.length).toBe(2);
    expect(b.getLayer('hp_m2_block4_2_conv').inboundNodes.length).toBe(3);
    expect(b.getLayer('hp_m2_block2_1_conv').inboundNodes.length).toBe(1); // only level 1 passes stage 2
    const inbound = (n: string) => b.getLayer(n).inboundNodes[0].inboundLayers.map((l) => l.name);
    expect(inbound('hp_mda2_to1')).toEqual(['stem_relu', 'hp_att2_sigmoid']);
    expect(inbound('hp_mda3_to4')).toEqual(['block4_2_relu', 'hp_att3_sigmoid']);
    expect(inbound('hp_m2_block2_1_conv')).toEqual(['hp_mda2_to1']);
    net.dispose();
  });

  it('has the PyTorch twin’s parameter count (30,772, also counted by hand)', () => {
    const net = createSegmentationNet('road-lite', opts);
    // conv+BN per stage at width 1/4: stage 1: 27·4+16; 2: 9·4·8+32 + 9·8·8+32; 3: 9·8·16+64 + 9·16·16+64;
    // 4: 2·(9·16·16+64); head 16·16+64 + 16·4+4; attention 8·2+2, 16·2+2; fusion (16+6·2·16)·16 + 64.
    const stage = [27 * 4 + 16, 288 + 32 + 576 + 32, 1152 + 64 + 2304 + 64, 2 * (2304 + 64)];
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const hand =
      sum(stage) + 320 + 68 + sum(stage.slice(1)) + sum(stage.slice(2)) + 18 + 34 + (16 + 6 * 2 * 16) * 16 + 64;
    expect(hand).toBe(30772);
    expect(fixture.params).toBe(hand);
    expect(net.countParams()).toBe(fixture.params);
    const shared = createSegmentationNet('road-lite', { ...opts, attentionModules: 'shared' });
    // the shared form has no copied convs, only attentive batch norms
    expect(net.countParams() - shared.countParams()).toBeGreaterThan(sum(stage.slice(2)));
    shared.dispose();
    net.dispose();
  });

  it('computes the PyTorch twin’s features and logits with the same weights', () => {
    const net = createSegmentationNet('road-lite', opts);
    const got = net.model.weights.map((w) => ({ name: w.originalName, shape: w.shape }));
    expect(new Set(got.map((w) => `${w.name}:${w.shape}`))).toEqual(
      new Set(fixture.weights.map((w) => `${w.name}:${w.shape}`)),
    );
    for (const w of net.model.weights) {
      const v = tf.tensor(closedForm(w.originalName, w.shape as number[]), w.shape as number[]);
      w.write(v);
      v.dispose();
    }
    const x = input();
    tf.tidy(() => {
      const f = net.features(x);
      expect(f.shape).toEqual(fixture.featuresShape);
      expect(relError(f.dataSync(), fixture.features)).toBeLessThan(1e-4);
      const z = net.logits(x);
      expect(z.shape).toEqual(fixture.logitsShape);
      expect(relError(z.dataSync(), fixture.logits)).toBeLessThan(1e-4);
    });
    x.dispose();
    net.dispose();
  });

  it('saves and loads to identical outputs, and makes no tensor it does not free', async () => {
    const net = createSegmentationNet('road-lite', opts);
    const x = input();
    expectNoLeak(() => tf.dispose([net.features(x), net.predict(x), net.logits(x, true)]));
    const store = memoryStore();
    await net.save(store.handler);
    const loaded = await loadSegmentationNet(tf.io.fromMemory(store.artifacts()), { name: 'road-lite' });
    const [a, c] = [net.predict(x), loaded.predict(x)];
    expect(Array.from(c.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, c, x]);
    loaded.dispose();
    const before = tf.memory().numTensors;
    createSegmentationNet('road-lite', opts).dispose();
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  it('starts its own branches as copies of the main branch when initialised from a plain backbone', () => {
    const net = createSegmentationNet('road-lite', opts);
    const plain = createBackbone('road-lite', { widthMultiplier: 0.25, seed: 11 });
    const report = copyBackboneWeights(plain, net);
    expect(report.copied).toContain('block3_1_conv → hp_m2_block3_1_conv');
    expect(report.unmatchedTarget).not.toContain('hp_m2_block3_1_conv');
    const w = (m: typeof plain, n: string) => Array.from(m.getLayer(n).getWeights()[0].dataSync());
    expect(w(net.backbone, 'hp_m2_block3_1_conv')).toEqual(w(plain, 'block3_1_conv'));
    expect(w(net.backbone, 'hp_m3_block4_2_bn')).toEqual(w(plain, 'block4_2_bn'));
    plain.dispose();
    net.dispose();
  });

  it('refuses a bad attentionModules value with one clear error', () => {
    expect(() =>
      createSegmentationNet('road-lite', { ...opts, attentionModules: 'paper' as unknown as 'separate' }),
    ).toThrow(`road-lite: attentionModules must be 'shared' or 'separate', got "paper"`);
  });
});
