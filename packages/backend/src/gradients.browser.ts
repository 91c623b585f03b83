// The browser build's gradients.ts: a bundler loads tfjs-core's ESM gradient registrations directly (Node cannot,
// hence the bundled dist/tfjs-gradients.cjs of the Node build), and a page has no Node module cache to count copies in.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { type GradientStatus, registerZeroGradients } from './gradients.js';

export type { GradientStatus };

const PROBE_GRADIENTS = ['Conv2D', 'FusedBatchNorm', 'Relu', 'Softmax', 'ResizeBilinear', 'MaxPool'];

/** Browser build: tfjs-core's gradients are registered by the import above; adds the zero gradients tfjs lacks. */
export function ensureGradients(): GradientStatus {
  const missing = PROBE_GRADIENTS.filter((k) => tf.getGradient(k) == null);
  if (missing.length > 0) {
    throw new Error(
      `@road/backend: gradients missing after importing tfjs-core's register_all_gradients: ${missing.join(', ')} ` +
        '(two copies of @tensorflow/tfjs-core in the bundle?)',
    );
  }
  return {
    loadedUnion: false,
    loadedFrom: null,
    registeredBefore: true,
    coreVersion: tf.version_core,
    zeroGradients: registerZeroGradients(),
  };
}

/** Browser build: always empty (a bundle has no Node module cache; see the Node build's doc). */
export function tfjsCoreCopies(): string[] {
  return [];
}
