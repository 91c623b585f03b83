// `@road/backend/testing`: fixtures and helpers for tests and benchmarks (a toy segmentation net and batch,
// deterministic inputs, kernel runners) and the kernel formulations the benchmarks time against the shipped kernels.
// Not the training API (that is `@road/backend`); names here may change between minor versions.
import * as tf from '@tensorflow/tfjs-core';

export { SOFTMAX_CE_KERNEL } from './fused/softmax-cross-entropy.js';
export { createTinySegNet, type TinySegNet, toySegmentationBatch } from './tiny-seg-net.js';
export {
  missingKernels,
  probeLossAndGrads,
  type TrainingProbe,
  trainingProbes,
  trainingStepKernels,
} from './training-kernels.js';
export { conv2dBackpropFilterAsConv } from './wasm/conv2d-backprop-filter.js';
export { conv2dBackpropInputAsConv } from './wasm/conv2d-backprop-input.js';
export { conv2dBackpropFilterWebgpu } from './webgpu/conv2d-backprop-filter.js';
export { conv2dBackpropInputWebgpu } from './webgpu/conv2d-backprop-input.js';

/** Deterministic uniform(−1, 1) values (a 32-bit LCG), so every backend sees the same inputs. */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/**
 * Relative error in the max norm: max|actual − expected| / max|expected| (absolute when expected
 * is all zeros). Throws when the lengths differ.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`relativeError: ${actual.length} values vs ${expected.length} expected`);
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (!Number.isFinite(diff)) return Number.POSITIVE_INFINITY;
  return scale === 0 ? diff : diff / scale;
}

/** Spec of one input tensor for {@link runKernelOn}. */
export interface InputSpec {
  shape: number[];
  values: ArrayLike<number>;
  dtype?: 'float32' | 'int32';
}

/** One tensor per input spec (float32 unless the spec says otherwise); call inside `tf.tidy`. */
function toTensors(inputs: Record<string, InputSpec>): Record<string, tf.Tensor> {
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, spec] of Object.entries(inputs)) {
    ins[k] = tf.tensor(Array.from(spec.values), spec.shape, spec.dtype ?? 'float32');
  }
  return ins;
}

/**
 * Runs one kernel through the engine on `backend` and returns its output values and shape (all
 * tensors disposed).
 */
export async function runKernelOn(
  backend: string,
  kernelName: string,
  inputs: Record<string, InputSpec>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ins = toTensors(inputs);
    const out = tf.engine().runKernel(kernelName, ins as never, attrs as never) as tf.Tensor;
    return { shape: out.shape.slice(), values: out.dataSync() as Float32Array | Int32Array };
  });
}

/**
 * Like {@link runKernelOn} but calls a kernel function directly (not the registered one), e.g. to
 * test a variant that is not registered.
 */
export async function runKernelFuncOn(
  backend: string,
  kernelFunc: tf.KernelFunc,
  inputs: Record<string, InputSpec>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ins = toTensors(inputs);
    const info = kernelFunc({ inputs: ins as never, backend: tf.backend(), attrs: attrs as never }) as tf.TensorInfo;
    const out = tf.engine().makeTensorFromTensorInfo(info);
    return { shape: out.shape.slice(), values: out.dataSync() as Float32Array | Int32Array };
  });
}
