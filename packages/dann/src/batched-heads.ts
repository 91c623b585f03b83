// Batched region heads of spatial-aware adaptation: when every region classifier has the same chain of pointwise
// layers, SpatialAwareAdaptation runs all regions' heads together from these stacked layers.
import * as tf from '@tensorflow/tfjs-core';
import type { DomainClassifierLike } from './domain-classifier.js';

export type HeadLayer = { kernel: tf.Variable; bias: tf.Variable | null; activation: string };

const ACTIVATIONS: Record<string, ((x: tf.Tensor) => tf.Tensor) | null> = {
  linear: null,
  relu: tf.relu,
  elu: tf.elu,
  selu: tf.selu,
  tanh: tf.tanh,
  sigmoid: tf.sigmoid,
};

export function activate(x: tf.Tensor, name: string): tf.Tensor {
  const f = ACTIVATIONS[name];
  return f ? f(x) : x;
}

/** The heads' pointwise layers when all heads have the same chain of shapes and known activations, else null. */
export function batchedHeads(heads: DomainClassifierLike[]): HeadLayer[][] | null {
  const all = heads.map((h) => (typeof h.pointwiseLayers === 'function' ? h.pointwiseLayers() : null));
  const first = all[0];
  if (!first || first.length === 0) return null;
  for (const layers of all) {
    if (!layers || layers.length !== first.length) return null;
    for (let l = 0; l < layers.length; l++) {
      const a = layers[l];
      const b = first[l];
      if (!(a.activation in ACTIVATIONS) || a.activation !== b.activation) return null;
      if (a.kernel.size !== b.kernel.size || a.kernel.shape.at(-1) !== b.kernel.shape.at(-1)) return null;
      if ((a.bias === null) !== (b.bias === null)) return null;
    }
    if (layers[layers.length - 1].kernel.shape.at(-1) !== 1) return null;
  }
  return all as HeadLayer[][];
}
