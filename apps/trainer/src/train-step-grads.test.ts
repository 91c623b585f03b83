import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.js';
import { disposeBatch, tinyBatch, tinyStepParts } from './step-fixture.js';

// The step differentiates with @road/backend's lowMemoryVariableGrads; `use.tfjs` swaps in tf.variableGrads, so the
// same step can be run both ways and compared.
const use = vi.hoisted(() => ({ tfjs: false, calls: 0 }));
vi.mock('@road/backend', async (importOriginal) => {
  const m = await importOriginal<typeof import('@road/backend')>();
  return {
    ...m,
    lowMemoryVariableGrads: (f: () => tf.Scalar, vars: tf.Variable[]) => {
      use.calls++;
      return use.tfjs ? tf.variableGrads(f, vars) : m.lowMemoryVariableGrads(f, vars);
    },
  };
});

/** Two ROAD steps (seg + dst + spt, Adam) on fresh, identically seeded parts; returns losses and every weight. */
async function twoSteps(netName: 'road-lite' | 'vgg16-fcn') {
  const config = loadConfig('road', ['steps=10', 'backend=cpu']);
  const parts = tinyStepParts(config, netName);
  const { step } = parts;
  const batch = tinyBatch();
  const before = tf.memory().numTensors;
  const first = await step(batch, 1);
  const afterFirst = tf.memory().numTensors;
  const second = await step(batch, 2);
  const leaked = tf.memory().numTensors - afterFirst;
  const weights = step.variables.map((v) => Array.from(v.dataSync()));
  disposeBatch(batch);
  parts.dispose();
  return {
    first,
    second,
    weights,
    names: step.variables.map((v) => v.name),
    leaked,
    firstStepTensors: afterFirst - before,
  };
}

describe('createTrainStep differentiates with lowMemoryVariableGrads', () => {
  for (const netName of ['road-lite', 'vgg16-fcn'] as const) {
    it(`${netName}: same losses and bit-identical weights after two Adam steps as with tf.variableGrads (cpu); no leak`, async () => {
      await tf.setBackend('cpu');
      use.calls = 0;
      use.tfjs = false;
      const ours = await twoSteps(netName);
      expect(use.calls).toBe(2);
      use.tfjs = true;
      const theirs = await twoSteps(netName);
      use.tfjs = false;
      expect(ours.first).toEqual(theirs.first);
      expect(ours.second).toEqual(theirs.second);
      expect(ours.first.dst).toBeGreaterThan(0);
      expect(ours.weights.length).toBe(theirs.weights.length); // (names differ by tfjs-layers' uniquifying suffix)
      for (let i = 0; i < ours.weights.length; i++) expect(ours.weights[i], ours.names[i]).toEqual(theirs.weights[i]);
      expect(ours.leaked).toBe(0);
      // Adam's two moments per variable (+2 power accumulators) appear in step 1, nothing else stays.
      expect(ours.firstStepTensors).toBe(theirs.firstStepTensors);
    });
  }
});
