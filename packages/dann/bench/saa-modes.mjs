// Spatial-aware adaptation: 'gather' vs 'full' mode, one forward+backward on the cpu backend.
// Run after `pnpm --filter @road/dann build`:  node packages/dann/bench/saa-modes.mjs
import * as tf from '@tensorflow/tfjs';
import { convDomainClassifier, SpatialAwareAdaptation } from '../dist/index.js';

await tf.setBackend(process.env.TF_BACKEND ?? 'cpu');
const [N, H, W, C] = [2, 16, 32, 32];
const grid = [2, 4];
const src = tf.randomNormal([N, H, W, C], 0, 1, 'float32', 1);
const tgt = tf.randomNormal([N, H, W, C], 0.3, 1, 'float32', 2);
const crop = { top: 64, left: 128, height: 256, width: 512, fullHeight: 512, fullWidth: 1024 };
for (const mode of ['gather', 'full']) {
  const saa = new SpatialAwareAdaptation({
    grid,
    mode,
    classifier: (r) => convDomainClassifier({ inChannels: C, hidden: [64], seed: r }),
  });
  const step = () =>
    tf.tidy(() => {
      // grads are created inside the tidy and freed with it
      const { value } = tf.variableGrads(
        () => saa.loss(src, tgt, { lambda: 0.5, sourceCrop: crop, readStats: false }).loss,
        saa.trainableWeights,
      );
      return value.dataSync()[0];
    });
  step(); // warm-up
  const reps = 5;
  const t0 = performance.now();
  let loss = 0;
  for (let i = 0; i < reps; i++) loss = step();
  const ms = (performance.now() - t0) / reps;
  console.log(
    `${mode}: ${ms.toFixed(1)} ms / step  (loss ${loss.toFixed(5)}, [${N},${H},${W},${C}] grid ${grid.join('x')}, backend ${tf.getBackend()})`,
  );
  saa.dispose();
}
