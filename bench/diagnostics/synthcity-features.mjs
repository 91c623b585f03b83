#!/usr/bin/env node
// Feature statistics of trained SynthCity nets against their teacher (diagnosis of target-guided distillation):
// mean per-position L2 norm of the backbone features on 24 source and 24 target-val images, the distance between the
// two domains' mean feature vectors (absolute and relative to the source norm), and the mean per-position squared L2
// distance to the teacher's features on each domain (= L_dst on target). Build first (`pnpm build`).
// Usage: node bench/diagnostics/synthcity-features.mjs TEACHER_CHECKPOINT RUN_DIR …
import * as tf from '@tensorflow/tfjs-core';
import { ensureEngine, loadNetFromCheckpoint } from '../../apps/trainer/dist/index.js';
import { normalizeImage, renderSynthCity } from '../../packages/datasets/dist/index.js';

await ensureEngine('auto', () => {});
const [, , teacherCk, ...runs] = process.argv;
const batch = (split) => {
  const buf = new Float32Array(24 * 80 * 160 * 3);
  for (let i = 0; i < 24; i++)
    buf.set(normalizeImage(renderSynthCity(split, 0, i).image, 'imagenet'), i * 80 * 160 * 3);
  return tf.tensor4d(buf, [24, 80, 160, 3]);
};
const S = batch('source');
const T = batch('target-val');
const teacher = loadNetFromCheckpoint(teacherCk).net;
const tT = teacher.features(T, false);
const tS = teacher.features(S, false);
const stat = (name, net) =>
  tf.tidy(() => {
    const fs = net.features(S, false);
    const ft = net.features(T, false);
    const norm = (f) => tf.mean(tf.sqrt(tf.sum(tf.square(f), -1))).dataSync()[0];
    const gap = tf.norm(tf.sub(tf.mean(fs, [0, 1, 2]), tf.mean(ft, [0, 1, 2]))).dataSync()[0];
    const d = (a, b) => tf.mean(tf.sum(tf.squaredDifference(a, b), -1)).dataSync()[0];
    console.log(
      JSON.stringify({
        name,
        normSource: +norm(fs).toFixed(2),
        normTarget: +norm(ft).toFixed(2),
        domainMeanGap: +gap.toFixed(2),
        relativeGap: +(gap / norm(fs)).toFixed(3),
        l2ToTeacherTarget: +d(ft, tT).toFixed(2),
        l2ToTeacherSource: +d(fs, tS).toFixed(2),
      }),
    );
  });
stat('teacher', teacher);
for (const r of runs) stat(r.split('/').pop(), loadNetFromCheckpoint(r).net);
