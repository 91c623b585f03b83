// The example of packages/dann/README.md, run as a test (only the import line differs: './index.js'
// here, '@road/dann' in the README). Keep both in sync.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { readmeAndTestCode } from '../../../test/readme-block.js';
import { dannLambda, mlpDomainClassifier, SpatialAwareAdaptation } from './index.js';

describe('README example', () => {
  it('runs: spatial-aware adversarial steps update extractor and region classifiers', async () => {
    const log: string[] = [];
    const console = { log: (...a: unknown[]) => log.push(a.join(' ')) };
    const before = tf.memory().numTensors;
    // ---- README code starts ----
    const saa = new SpatialAwareAdaptation({
      grid: [2, 2], // 4 regions of the full image, one domain classifier each
      classifier: () => mlpDomainClassifier({ inputDim: 8, hidden: [16], dropout: 0 }),
    });
    const kernel = tf.tidy(() => tf.variable(tf.randomNormal([1, 1, 3, 8]))); // stand-in feature extractor (1×1 conv)
    const features = (x: tf.Tensor4D) => tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same');
    const source = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 3]); // source batch: crops of 64×64 images
    const target = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 3], 0.5); // target batch: full images
    const sourceCrop = { top: 16, left: 0, height: 32, width: 32, fullHeight: 64, fullWidth: 64 };
    const opt = tf.train.adam(1e-2);
    for (let step = 0; step < 5; step++) {
      const lambda = dannLambda(step / 4); // 0 → 0.9999 over training
      const cost = opt.minimize(() => saa.loss(features(source), features(target), { lambda, sourceCrop }).loss, true);
      console.log(`step ${step} lambda ${lambda.toFixed(3)} domain loss ${cost?.dataSync()[0].toFixed(4)}`);
      cost?.dispose();
    }
    // ---- README code ends ----
    expect(log.length).toBe(5);
    expect(log[0]).toMatch(/^step 0 lambda 0\.000 domain loss \d\.\d{4}$/);
    // every region classifier (4 × kernel, bias, kernel, bias) and the extractor kernel got Adam updates:
    // Adam keeps [iterations, first moments…, second moments…] for the variables it updated
    expect(saa.trainableWeights.length).toBe(16);
    const adamState = await opt.getWeights();
    expect(adamState.length).toBe(1 + 2 * 17);
    expect(adamState.some((w) => w.name.startsWith(`${kernel.name}/`))).toBe(true);
    adamState[0].tensor.dispose(); // the iteration count is a fresh scalar
    const k = kernel.dataSync();
    let activeRegions = 0;
    const fresh = tf.tidy(() => {
      const r = saa.loss(features(source), features(target), { sourceCrop });
      activeRegions = r.activeRegions;
      return r.loss;
    });
    expect(Number.isFinite(fresh.dataSync()[0])).toBe(true);
    expect(activeRegions).toBe(4);
    expect(Array.from(k).every(Number.isFinite)).toBe(true);
    fresh.dispose();
    tf.dispose([kernel, source, target]);
    opt.dispose();
    saa.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the same code as the README block', () => {
    const { readme, test } = readmeAndTestCode(new URL('../README.md', import.meta.url), new URL(import.meta.url));
    expect(test.length).toBeGreaterThan(10);
    expect(readme).toEqual(test);
  });
});
