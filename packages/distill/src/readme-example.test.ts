// The example of packages/distill/README.md, run as a test (only the import line differs: './index.js'
// here, '@road/distill' in the README). A second test checks that the two stay identical.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { readmeAndTestCode } from '../../../test/readme-block.js';
import { FrozenTeacher, kdLoss, targetGuidedDistillation } from './index.js';

describe('README example', () => {
  it('runs: the student is pulled towards the frozen teacher, only the student is updated', async () => {
    const log: number[][] = [];
    const console = { log: (...a: number[]) => log.push(a) };
    const before = tf.memory().numTensors;
    // ---- README code starts ----
    const conv = (seed: number) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            filters: 4,
            kernelSize: 3,
            padding: 'same',
            inputShape: [null, null, 3],
            kernelInitializer: tf.initializers.glorotUniform({ seed }),
          }),
        ],
      });
    const teacher = new FrozenTeacher(conv(1)); // e.g. the ImageNet-pretrained backbone, frozen
    const student = conv(2); // the net being adapted
    const targetImages = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 3], 0, 1, 'float32', 3);
    const teacherFeatures = teacher.features(targetImages); // computed once, outside the tape
    const opt = tf.train.adam(0.05);
    for (let step = 0; step < 10; step++) {
      const loss = opt.minimize(
        () => targetGuidedDistillation(student.apply(targetImages) as tf.Tensor, teacherFeatures),
        true,
      );
      console.log(step, loss?.dataSync()[0] ?? Number.NaN);
      loss?.dispose();
    }
    // Hinton KD on logits (here: the features as 4-class logits per pixel), T = 4, KL form
    const kd = tf.tidy(() => kdLoss(student.apply(targetImages) as tf.Tensor, teacherFeatures, { temperature: 4 }));
    console.log(-1, kd.dataSync()[0]);
    // ---- README code ends ----
    expect(log.length).toBe(11);
    expect(log[9][1]).toBeLessThan(log[0][1] * 0.7);
    expect(log[10][1]).toBeGreaterThanOrEqual(0);
    // Adam state = [iterations, m, v per updated variable]: only the student's kernel and bias
    const state = await opt.getWeights();
    expect(state.length).toBe(1 + 2 * 2);
    state[0].tensor.dispose();
    tf.dispose([kd, teacherFeatures, targetImages]);
    opt.dispose();
    student.dispose();
    teacher.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the same code as the README block', () => {
    const { readme, test } = readmeAndTestCode(new URL('../README.md', import.meta.url), new URL(import.meta.url));
    expect(test.length).toBeGreaterThan(10);
    expect(readme).toEqual(test);
  });
});
