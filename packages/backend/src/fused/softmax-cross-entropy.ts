import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropyIgnore } from '../softmax-cross-entropy.js';
import { ensureFusedKernel, type FusedBackendName, fusedKernelAvailable, kernelIO } from './kernel-io.js';

/** Forward kernel: inputs `logits` [..., C] float32, `labels` [...] int32; outputs `[loss [], softmax [..., C]]`. */
export const SOFTMAX_CE_KERNEL = 'RoadSoftmaxCrossEntropyIgnore';
/** Backward kernel: inputs `probs` [..., C], `labels` [...], `dy` []; output dL/dlogits [..., C]. */
export const SOFTMAX_CE_GRAD_KERNEL = 'RoadSoftmaxCrossEntropyIgnoreGrad';

/** Probabilities below this are recomputed as log-sum-exp(z) − z_y in double precision (no −log 0). */
const TINY = 1e-30;

function checkLabels(labels: Int32Array, classes: number, ignoreLabel: number, kernel: string): number {
  let count = 0;
  for (let p = 0; p < labels.length; p++) {
    const y = labels[p];
    if (y === ignoreLabel) continue;
    if (y < 0 || y >= classes || !Number.isInteger(y)) {
      throw new Error(
        `${kernel}: label ${y} at pixel ${p} is outside [0, ${classes}) and not the ignore label ${ignoreLabel}`,
      );
    }
    count++;
  }
  return count;
}

function forwardKernel(backendName: FusedBackendName): KernelFunc {
  return ({ inputs, backend, attrs = {} }) => {
    const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
    const ignoreLabel = attrs.ignoreLabel as number;
    const io = kernelIO(backendName, backend);
    const c = logits.shape[logits.shape.length - 1];
    const n = labels.shape.reduce((a, d) => a * d, 1);
    if (logits.dtype !== 'float32' || labels.dtype !== 'int32' || n * c !== logits.shape.reduce((a, d) => a * d, 1)) {
      throw new Error(
        `${SOFTMAX_CE_KERNEL}: logits ${logits.dtype} [${logits.shape}] / labels ${labels.dtype} [${labels.shape}] do not fit`,
      );
    }
    const count = checkLabels(io.view(labels) as Int32Array, c, ignoreLabel, SOFTMAX_CE_KERNEL);
    // The backend's own Softmax (XNNPACK on wasm) over the last axis, then the loss output; views after both.
    const softmax = tf.getKernel('Softmax', backendName);
    if (softmax == null) throw new Error(`${SOFTMAX_CE_KERNEL}: no Softmax kernel on '${backendName}'`);
    const probs = softmax.kernelFunc({
      inputs: { logits },
      backend,
      attrs: { dim: logits.shape.length - 1 },
    }) as TensorInfo;
    const loss = io.alloc([], 'float32');
    const p = io.view(probs) as Float32Array;
    const z = io.view(logits) as Float32Array;
    const y = io.view(labels) as Int32Array;
    let sum = 0;
    for (let q = 0; q < n; q++) {
      const k = y[q];
      if (k === ignoreLabel) continue;
      const py = p[q * c + k];
      if (py > TINY) {
        sum -= Math.log(py);
      } else {
        let mx = -Infinity;
        for (let j = 0; j < c; j++) mx = Math.max(mx, z[q * c + j]);
        let s = 0;
        for (let j = 0; j < c; j++) s += Math.exp(z[q * c + j] - mx);
        sum += Math.log(s) + mx - z[q * c + k];
      }
    }
    (io.view(loss) as Float32Array)[0] = count > 0 ? sum / count : 0;
    return [loss, probs];
  };
}

function gradKernel(backendName: FusedBackendName): KernelFunc {
  return ({ inputs, backend, attrs = {} }) => {
    const { probs, labels, dy } = inputs as { probs: TensorInfo; labels: TensorInfo; dy: TensorInfo };
    const ignoreLabel = attrs.ignoreLabel as number;
    const io = kernelIO(backendName, backend);
    const c = probs.shape[probs.shape.length - 1];
    const count = checkLabels(io.view(labels) as Int32Array, c, ignoreLabel, SOFTMAX_CE_GRAD_KERNEL);
    const out = io.alloc(probs.shape, 'float32');
    const g = io.view(out) as Float32Array;
    const p = io.view(probs) as Float32Array;
    const y = io.view(labels) as Int32Array;
    const s = count > 0 ? (io.view(dy) as Float32Array)[0] / count : 0;
    const n = y.length;
    for (let q = 0; q < n; q++) {
      const k = y[q];
      const o = q * c;
      if (k === ignoreLabel) {
        g.fill(0, o, o + c); // a fresh wasm allocation is not zeroed
        continue;
      }
      for (let j = 0; j < c; j++) g[o + j] = p[o + j] * s;
      g[o + k] = (p[o + k] - 1) * s;
    }
    return out;
  };
}

let registeredOnce = false;

/**
 * Registers the fused softmax cross-entropy kernels for cpu and wasm and the forward kernel's gradient
 * (idempotent). {@link fusedSoftmaxCrossEntropyIgnore} does it on its first call only, so a kernel unregistered
 * afterwards (`tf.unregisterKernel(SOFTMAX_CE_KERNEL, 'wasm')`) makes the loss take the composite path there.
 */
export function registerSoftmaxCrossEntropyKernels(): void {
  registeredOnce = true;
  ensureFusedKernel(SOFTMAX_CE_KERNEL, forwardKernel);
  ensureFusedKernel(SOFTMAX_CE_GRAD_KERNEL, gradKernel);
  if (tf.getGradient(SOFTMAX_CE_KERNEL) == null) {
    // saved = [labels (input), softmax (output 1)]; dy = [dL, null] (the softmax output is not differentiated).
    tf.registerGradient({
      kernelName: SOFTMAX_CE_KERNEL,
      inputsToSave: ['labels'],
      outputsToSave: [false, true],
      gradFunc: (dy, saved, attrs) => {
        const [labels, probs] = saved as [tf.Tensor, tf.Tensor];
        const dLoss = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor;
        return {
          logits: () =>
            tf
              .engine()
              .runKernel(
                SOFTMAX_CE_GRAD_KERNEL,
                { probs, labels, dy: dLoss },
                attrs as unknown as tf.NamedAttrMap,
              ) as tf.Tensor,
          labels: () => tf.zeros(labels.shape), // labels are not differentiable (never on a path from a variable)
        };
      },
    });
  }
}

/**
 * Pixel-wise softmax cross-entropy with an ignore label, as one fused kernel pair on cpu and wasm:
 *
 *   L = −(1/|V|) Σ_{p∈V} log softmax(z_p)[y_p],   V = { p : y_p ≠ ignore },   L = 0 when V is empty;
 *   ∂L/∂z_p = (softmax(z_p) − onehot(y_p)) / |V| on valid pixels, 0 on ignored ones (0 everywhere when V = ∅).
 *
 * Forward: the backend's Softmax kernel (XNNPACK on wasm) plus one pass over the labels; the softmax is kept
 * for the backward pass, which is one pass writing the gradient. Same value and gradient as @road/backend's
 * composite {@link softmaxCrossEntropyIgnore} (to float32 rounding), which is used on other backends
 * (webgpu, tensorflow) and where the kernel has been unregistered. Unlike it, a label outside [0, C) that is not the ignore label is an error here.
 *
 * @param logits [N, H, W, C] float32
 * @param labels [N, H, W] int32
 */
export function fusedSoftmaxCrossEntropyIgnore(logits: tf.Tensor4D, labels: tf.Tensor3D, ignoreLabel = 255): tf.Scalar {
  if (labels.dtype !== 'int32')
    throw new Error(`fusedSoftmaxCrossEntropyIgnore: labels must be int32, got ${labels.dtype}`);
  const [n, h, w] = logits.shape;
  if (labels.shape[0] !== n || labels.shape[1] !== h || labels.shape[2] !== w) {
    throw new Error(`fusedSoftmaxCrossEntropyIgnore: labels [${labels.shape}] do not match logits [${logits.shape}]`);
  }
  if (!registeredOnce) registerSoftmaxCrossEntropyKernels();
  if (!fusedKernelAvailable(SOFTMAX_CE_KERNEL, tf.getBackend()) || logits.dtype !== 'float32') {
    return softmaxCrossEntropyIgnore(logits, labels, ignoreLabel);
  }
  // One kernel call; its gradient (registered with the kernel) reads the softmax output the engine saved.
  const [loss, probs] = tf.engine().runKernel(SOFTMAX_CE_KERNEL, { logits, labels }, { ignoreLabel }) as tf.Tensor[];
  probs!.dispose();
  return loss as tf.Scalar;
}
