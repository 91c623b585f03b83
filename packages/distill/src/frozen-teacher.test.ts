import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { FrozenTeacher } from './frozen-teacher.js';
import { targetGuidedDistillation } from './target-guided-distillation.js';

function tinyModel(seed: number): tfl.Sequential {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({
      filters: 3,
      kernelSize: 1,
      inputShape: [null, null, 2],
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    }),
  );
  m.add(tfl.layers.dropout({ rate: 0.5 }));
  return m;
}

describe('FrozenTeacher', () => {
  it('freezes a LayersModel: not trainable, inference mode, no gradient, untouched by minimize', () => {
    const model = tinyModel(1);
    const teacher = new FrozenTeacher(model);
    expect(model.trainable).toBe(false);
    expect(model.trainableWeights.length).toBe(0);
    expect(model.weights.every((w) => !w.trainable)).toBe(true);
    const x = tf.randomNormal([1, 2, 2, 2], 0, 1, 'float32', 3);
    const a = teacher.features(x).dataSync();
    const b = teacher.features(x).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b)); // dropout off
    const ref = (model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(a)).toEqual(Array.from(ref));
    // a student trained with minimize() and no var list: the teacher's weights stay put
    const student = tf.variable(tf.zeros([1, 2, 2, 3]), true, 'frozen_teacher_test_student');
    const kernelBefore = Array.from(model.getWeights()[0].dataSync());
    const opt = tf.train.sgd(0.5);
    for (let i = 0; i < 3; i++)
      opt.minimize(() => targetGuidedDistillation(student, teacher.features(x)), true)?.dispose();
    expect(Array.from(model.getWeights()[0].dataSync())).toEqual(kernelBefore);
    // the student moved towards the teacher
    expect(tf.tidy(() => targetGuidedDistillation(student, teacher.features(x)).dataSync()[0])).toBeLessThan(
      tf.tidy(() => targetGuidedDistillation(tf.zerosLike(student), teacher.features(x)).dataSync()[0]),
    );
    // gradient w.r.t. the input through the teacher is zero
    const gx = tf.grad((v: tf.Tensor) => tf.sum(teacher.features(v)))(x);
    expect(Array.from(gx.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([x, student, gx]);
    opt.dispose();
    teacher.dispose();
    expect(() => teacher.features(tf.zeros([1, 1, 1, 2]))).toThrow(/after dispose/);
  });

  it('wraps a function and freezes the given variables', () => {
    const w = tf.variable(tf.tensor1d([2, -1]), true, 'frozen_teacher_fn_w');
    const teacher = new FrozenTeacher((x) => tf.mul(x, w), { variables: [w] });
    expect(w.trainable).toBe(false);
    const x = tf.tensor2d([[1, 1]]);
    expect(Array.from(teacher.features(x).dataSync())).toEqual([2, -1]);
    // w is no longer trainable: tfjs refuses to differentiate w.r.t. it
    expect(() => tf.variableGrads(() => tf.sum(teacher.features(x)) as tf.Scalar, [w])).toThrow(
      /none of the 1 variables is trainable/,
    );
    // minimize() without a var list updates the student u only
    const u = tf.variable(tf.tensor1d([1, 1]), true, 'frozen_teacher_fn_u');
    const opt = tf.train.sgd(0.1);
    opt.minimize(() => tf.sum(tf.mul(teacher.features(x), u)) as tf.Scalar, true)?.dispose();
    expect(Array.from(w.dataSync())).toEqual([2, -1]);
    // u ← u − 0.1·teacher = [1 − 0.2, 1 + 0.1]
    const uv = u.dataSync();
    expect(uv[0]).toBeCloseTo(0.8, 6);
    expect(uv[1]).toBeCloseTo(1.1, 6);
    tf.dispose([x, u]);
    opt.dispose();
    teacher.dispose();
    expect(w.isDisposed).toBe(false); // functions are not owned
    w.dispose();
    expect(() => new FrozenTeacher(42 as unknown as () => tf.Tensor)).toThrow(/LayersModel or a function/);
  });

  it('does not leak tensors', () => {
    const model = tinyModel(2);
    const teacher = new FrozenTeacher(model);
    const x = tf.ones([2, 3, 3, 2]);
    const before = tf.memory().numTensors;
    teacher.features(x).dispose();
    tf.dispose(tf.grads((v: tf.Tensor) => tf.sum(teacher.features(v)))([x]));
    expect(tf.memory().numTensors).toBe(before);
    const nWeights = model.weights.length;
    teacher.dispose();
    expect(tf.memory().numTensors).toBe(before - nWeights);
    x.dispose();
  });
});
