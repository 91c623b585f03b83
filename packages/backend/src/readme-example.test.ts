import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
// Same code as the README example, importing from the package entry.
import { initBackend } from './index.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

it('README example runs: picks a backend, reports the skipped ones, and the loss falls', async () => {
  const lines: string[] = [];
  // Fastest engine that loads here, with the reasons the faster ones did not.
  const info = await initBackend({ log: (line) => lines.push(line) });
  // A strided conv trained to output 0.5 everywhere: needs Conv2DBackpropFilter/Input and their gradients.
  const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.variable(tf.randomUniform([3, 3, 3, 8], -0.5, 0.5, 'float32', 2)) as tf.Variable<tf.Rank.R4>;
  const optimizer = tf.train.adam(0.05);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const loss = optimizer.minimize(
      () => tf.mean(tf.square(tf.sub(tf.conv2d(x, w, 2, 'same'), 0.5))) as tf.Scalar,
      true,
    );
    losses.push((await loss!.data())[0]);
    loss!.dispose();
  }
  expect(lines.at(-2) ?? lines.at(-1)).toMatch(new RegExp(`^backend ${info.name}: in use`));
  expect(info.skipped.map((s) => s.name)).toEqual(
    ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'].slice(0, info.skipped.length),
  );
  expect(losses[4]).toBeLessThan(losses[0]);
  tf.dispose([x, w]);
  optimizer.dispose();
});
