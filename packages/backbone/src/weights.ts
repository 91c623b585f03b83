import * as tf from '@tensorflow/tfjs-core';
import { LayersModel, type layers } from '@tensorflow/tfjs-layers';
import { ATTENTIVE_BN_SUFFIX } from './net-builder.js';

type Layer = layers.Layer;

/** What a weight copy did, by layer name. */
export interface WeightCopyReport {
  /** `target` or `source → target` for each target layer that received weights. */
  copied: string[];
  /** Source layers with weights that matched no target layer. */
  unmatchedSource: string[];
  /** Target layers with weights that received none (left as they were). */
  unmatchedTarget: string[];
}

/** Anything holding a tfjs-layers model: a LayersModel or an object exposing one as `model`. */
export type ModelLike = LayersModel | { readonly model: LayersModel };

/** The LayersModel behind a {@link ModelLike}. */
export function modelOf(m: ModelLike): LayersModel {
  if (m instanceof LayersModel) return m;
  if (m && (m as { model?: unknown }).model instanceof LayersModel) return (m as { model: LayersModel }).model;
  throw new Error('expected a tf.LayersModel or a SegmentationNet');
}

/** All layers that own weights, by name, descending into nested models. */
export function weightedLayers(model: LayersModel): Map<string, Layer> {
  const out = new Map<string, Layer>();
  const visit = (m: LayersModel) => {
    for (const l of m.layers) {
      if (l instanceof LayersModel) visit(l);
      else if (l.weights.length > 0) {
        if (out.has(l.name)) throw new Error(`layer name '${l.name}' occurs twice in model '${model.name}'`);
        out.set(l.name, l);
      }
    }
  };
  visit(model);
  return out;
}

function shortName(v: { originalName: string }): string {
  const parts = v.originalName.split('/');
  return parts[parts.length - 1];
}

/**
 * Copies weights between layers matched by name. `rename` maps a source layer name to a target layer name (default
 * identity); a target `X_hp` (HydraPlus attentive batch norm) or `hp_m<s>_X` (a HydraPlus-Net own attentive branch's
 * copy of `X`) with no source of its own takes the source `X`.
 * Weights within a layer match by their short name (`kernel`, `bias`, `gamma`, …), else by position. A Dense kernel
 * `[a, o]` may fill a conv kernel `[k, k, c, o]` with `k·k·c = a` (Keras `fc1`/`fc2` → FCN `fc6`/`fc7`): the
 * row-major reshape matches Keras' NHWC flatten order.
 * Everything is checked before anything is written; a shape mismatch throws naming the layer and both shapes.
 */
export function copyWeightsByName(
  source: LayersModel,
  target: LayersModel,
  rename: (sourceName: string, targetNames: ReadonlySet<string>) => string = (n) => n,
): WeightCopyReport {
  const src = weightedLayers(source);
  const dst = weightedLayers(target);
  const dstNames = new Set(dst.keys());
  const bySourceTarget = new Map<string, string>();
  const unmatchedSource: string[] = [];
  for (const name of src.keys()) {
    const t = rename(name, dstNames);
    if (!dst.has(t)) {
      unmatchedSource.push(name);
      continue;
    }
    if (bySourceTarget.has(t)) {
      throw new Error(`source layers '${bySourceTarget.get(t)}' and '${name}' both map to target layer '${t}'`);
    }
    bySourceTarget.set(t, name);
  }
  for (const t of dst.keys()) {
    if (!bySourceTarget.has(t) && t.endsWith(ATTENTIVE_BN_SUFFIX)) {
      const base = t.slice(0, -ATTENTIVE_BN_SUFFIX.length);
      const s = bySourceTarget.get(base);
      if (s !== undefined) bySourceTarget.set(t, s);
    }
    // HydraPlus-Net's own attentive branches (`hp_m<s>_<layer>`) start as copies of the main branch's layer.
    const own = /^hp_m\d+_(.+)$/.exec(t);
    if (!bySourceTarget.has(t) && own) {
      const s = bySourceTarget.get(own[1]);
      if (s !== undefined) bySourceTarget.set(t, s);
    }
  }
  const plan: { layer: Layer; values: tf.Tensor[] }[] = [];
  const reshaped: tf.Tensor[] = [];
  const copied: string[] = [];
  const unmatchedTarget: string[] = [];
  try {
    for (const [t, layer] of dst) {
      const s = bySourceTarget.get(t);
      if (s === undefined) {
        unmatchedTarget.push(t);
        continue;
      }
      const from = src.get(s)!;
      const label = s === t ? `'${t}'` : `'${s}' → '${t}'`;
      const sw = from.weights;
      const tw = layer.weights;
      if (sw.length !== tw.length) {
        throw new Error(`layer ${label}: source has ${sw.length} weights, target has ${tw.length}`);
      }
      const srcValues = from.getWeights();
      const srcIndex = new Map(sw.map((v, i) => [shortName(v), i]));
      const byName = tw.every((v) => srcIndex.has(shortName(v))) && srcIndex.size === sw.length;
      const values = tw.map((v, i) => {
        const value = srcValues[byName ? srcIndex.get(shortName(v))! : i];
        const want = v.shape as number[];
        if (tf.util.arraysEqual(value.shape, want)) return value;
        const denseToConv =
          value.rank === 2 &&
          want.length === 4 &&
          value.shape[1] === want[3] &&
          tf.util.sizeFromShape(want) === value.size;
        if (denseToConv) {
          const r = tf.reshape(value, want);
          reshaped.push(r);
          return r;
        }
        throw new Error(
          `layer ${label}, weight '${shortName(v)}': shape [${value.shape}] in the source but [${want}] in the target`,
        );
      });
      plan.push({ layer, values });
      copied.push(s === t ? t : `${s} → ${t}`);
    }
  } catch (e) {
    tf.dispose(reshaped);
    throw e;
  }
  for (const { layer, values } of plan) layer.setWeights(values);
  tf.dispose(reshaped); // the variables keep their own reference to the data
  return { copied, unmatchedSource, unmatchedTarget };
}
