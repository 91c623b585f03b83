// The README example, line for line (keep both in sync): imports below, body between the markers.
import { tmpdir } from 'node:os';
import { countFlops, createSegmentationNet, loadSegmentationNet } from '@road/backbone';
import '@tensorflow/tfjs'; // in Node: the cpu backend and every gradient (@road/backend's initBackend() picks faster ones)
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, vi } from 'vitest';

it('README example runs and prints what the comments say', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  // --- README example start ---
  const net = createSegmentationNet('road-lite', { numClasses: 19, seed: 0 }); // or attention: 'hydraplus'
  const images = tf.randomUniform([2, 32, 48, 3]) as tf.Tensor4D;
  const labels = tf.randomUniform([2, 4, 6], 0, 19, 'int32'); // one label per feature position (stride 8)
  const crossEntropy = () =>
    tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 19), tf.logSoftmax(net.logits(images, true))), -1))) as tf.Scalar;
  const optimizer = tf.train.adam(1e-3);
  for (let step = 0; step < 2; step++) {
    const loss = optimizer.minimize(crossEntropy, true, net.trainableVariables())!;
    console.log(`step ${step}: loss ${loss.dataSync()[0].toFixed(3)}`);
    loss.dispose();
  }
  console.log(net.features(images).shape, net.predict(images).shape); // [2,4,6,64] [2,32,48,19]
  console.log(`${countFlops(net, [80, 160, 3]).perPixel} FLOPs per pixel`); // 6142
  await net.save(`file://${tmpdir()}/road-lite-example`);
  const again = await loadSegmentationNet(`file://${tmpdir()}/road-lite-example`);
  console.log(again.name, again.numClasses, again.outputStride); // road-lite 19 8
  // --- README example end ---
  const lines = log.mock.calls;
  log.mockRestore();
  expect(Number(String(lines[0][0]).split('loss ')[1])).toBeGreaterThan(2); // ≈ ln 19 = 2.94 at initialisation
  expect(lines[2]).toEqual([
    [2, 4, 6, 64],
    [2, 32, 48, 19],
  ]);
  expect(lines[3]).toEqual(['6142 FLOPs per pixel']);
  expect(lines[4]).toEqual(['road-lite', 19, 8]);
  net.dispose();
  again.dispose();
});
