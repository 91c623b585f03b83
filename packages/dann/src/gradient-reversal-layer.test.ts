import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { GradientReversal, registerDannLayers } from './gradient-reversal-layer.js';

describe('GradientReversal registration at import', () => {
  it('is registered by loading the module (before any registerDannLayers call), a side effect package.json declares', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.GradientReversal?.[0]).toBe(GradientReversal);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.sideEffects).toEqual(['./dist/index.js', './dist/index.cjs']);
  });
});

describe('GradientReversal layer', () => {
  it('has a className, serialises lambda and round-trips through getConfig/fromConfig', () => {
    registerDannLayers();
    const layer = new GradientReversal({ lambda: 0.375, name: 'grl_a' });
    expect(GradientReversal.className).toBe('GradientReversal');
    expect(layer.getClassName()).toBe('GradientReversal');
    const config = layer.getConfig();
    expect(config.lambda).toBe(0.375);
    expect(config.name).toBe('grl_a');
    const copy = tf.serialization.SerializationMap.getMap().classNameMap.GradientReversal[1](
      GradientReversal,
      config,
    ) as GradientReversal;
    expect(copy).toBeInstanceOf(GradientReversal);
    expect(copy.lambda).toBe(0.375);
    expect(copy.name).toBe('grl_a');
    // the generic deserialiser finds the registered class by name
    const viaName = tfl.layers.Layer.fromConfig(GradientReversal, config) as GradientReversal;
    expect(viaName.lambda).toBe(0.375);
  });

  it('applies -lambda to gradients and lambda can change between steps', () => {
    const layer = new GradientReversal({ lambda: 0.5 });
    const u = tf.tensor2d([[1, -2, 4]]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, u)));
    const x = tf.tensor2d([[3, 3, 3]]);
    // dL/dx = -0.5·[1, -2, 4] = [-0.5, 1, -2]
    expect(Array.from(g(x).dataSync())).toEqual([-0.5, 1, -2]);
    layer.lambda = 2; // = -2·[1, -2, 4]
    expect(Array.from(g(x).dataSync())).toEqual([-2, 4, -8]);
    layer.setLambda(0);
    expect(Array.from(g(x).dataSync())).toEqual([-0, 0, -0]);
    expect(() => layer.setLambda(Number.NaN)).toThrow(/GradientReversal lambda must be a finite number/);
    expect(Array.from((layer.apply(x) as tf.Tensor).dataSync())).toEqual([3, 3, 3]);
    tf.dispose([u, x]);
  });

  it('a model containing it saves to memory and loads back with the same lambda and outputs', async () => {
    registerDannLayers();
    const model = tfl.sequential();
    model.add(tfl.layers.dense({ units: 3, inputShape: [2], name: 'fc1' }));
    model.add(new GradientReversal({ lambda: 0.25, name: 'grl' }));
    model.add(tfl.layers.dense({ units: 1, name: 'fc2' }));
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    expect(JSON.stringify(artifacts?.modelTopology)).toContain('"class_name":"GradientReversal"');
    expect(JSON.stringify(artifacts?.modelTopology)).toContain('"lambda":0.25');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const grl = loaded.getLayer('grl') as GradientReversal;
    expect(grl).toBeInstanceOf(GradientReversal);
    expect(grl.lambda).toBe(0.25);
    const x = tf.tensor2d([
      [0.5, -1],
      [2, 3],
    ]);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // gradients w.r.t. fc1's kernel are reversed and scaled by 0.25 in both models
    const kernelGrad = (m: tfl.LayersModel) => {
      const kernel = m.getLayer('fc1').getWeights()[0] as tf.Variable;
      const { grads, value } = tf.variableGrads(() => tf.sum(m.apply(x) as tf.Tensor) as tf.Scalar, [kernel]);
      value.dispose();
      return grads[kernel.name];
    };
    const ga = kernelGrad(model);
    const gb = kernelGrad(loaded);
    expect(Array.from(gb.dataSync())).toEqual(Array.from(ga.dataSync()));
    // independent check: without reversal dL/dK[i][k] = Σ_n x[n][i] · fc2.kernel[k] ; reversed ×(−0.25)
    const w2 = model.getLayer('fc2').getWeights()[0].dataSync();
    const xs = x.arraySync() as number[][];
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) expected.push(-0.25 * (xs[0][i] + xs[1][i]) * w2[k]);
    const got = ga.dataSync();
    expected.forEach((e, i) => {
      expect(got[i]).toBeCloseTo(e, 5);
    });
    tf.dispose([x, a, b, ga, gb]);
    model.dispose();
    loaded.dispose();
  });

  it('does not leak tensors', () => {
    const layer = new GradientReversal({ lambda: 1 });
    const x = tf.ones([2, 2]);
    const before = tf.memory().numTensors;
    const y = layer.apply(x) as tf.Tensor;
    const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(x);
    tf.dispose([y, g]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
