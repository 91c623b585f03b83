import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { activeNativeAddon } from '../native/register-native.js';
import type { WasmBackendInternals } from '../wasm/backend-wasm.js';

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedGradient = Extract<VariableGradients, unknown[]>[number];

import { ensureFusedKernel, type FusedBackendName, fusedKernelAvailable, kernelIO } from './kernel-io.js';

/** Name of the fused Adam kernel (cpu and wasm). */
export const FUSED_ADAM_KERNEL = 'RoadFusedAdam';

/** How {@link FusedAdamOptimizer} groups its kernel calls: one call for all variables, or one per variable. */
export type FusedAdamMode = 'all' | 'per-variable';

interface AdamSlot {
  originalName: string;
  variable: tf.Variable;
}
/** The (TypeScript-private) state of tfjs's AdamOptimizer that this subclass shares. */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: AdamSlot[];
  accumulatedSecondMoment: AdamSlot[];
  incrementIterations(): void;
}

const f = Math.fround;

/** The wasm heap's ArrayBuffer (null when it is a SharedArrayBuffer: the native addon takes plain buffers only). */
function wasmHeapBuffer(backend: object): ArrayBuffer | null {
  const buf = (backend as Partial<WasmBackendInternals>).wasm?.HEAPU8?.buffer;
  return buf instanceof ArrayBuffer ? buf : null;
}

/** Byte offset of a tensor's data in the wasm heap. */
function wasmOffset(backend: object, t: TensorInfo): number {
  const data = (backend as WasmBackendInternals).dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('@road/backend fused Adam: a tensor is not held by the wasm backend');
  return data.memoryOffset;
}

/**
 * One Adam step over flat arrays, rounding every intermediate to float32 in the order of tfjs's
 * AdamOptimizer (so the result equals the stock op-by-op update on a float32 backend bit for bit):
 *
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  x ← x − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
 */
function adamArrays(
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  ox: Float32Array,
  om: Float32Array,
  ov: Float32Array,
  c: { b1: number; omb1: number; b2: number; omb2: number; d1: number; d2: number; eps: number; nlr: number },
): void {
  const { b1, omb1, b2, omb2, d1, d2, eps, nlr } = c;
  for (let j = 0; j < x.length; j++) {
    const gj = g[j];
    const mj = f(f(m[j] * b1) + f(gj * omb1));
    const vj = f(f(v[j] * b2) + f(f(gj * gj) * omb2));
    const mh = f(mj / d1);
    const vh = f(vj / d2);
    const upd = f(f(mh / f(f(Math.sqrt(vh)) + eps)) * nlr);
    ox[j] = upd + x[j];
    om[j] = mj;
    ov[j] = vj;
  }
}

/**
 * The fused Adam kernel: inputs `x0, m0, v0, g0, x1, …` (float32), attrs `count` and the step constants;
 * outputs `[x0', m0', v0', x1', …]` — every variable's new value and moments in one pass over its memory.
 */
function fusedAdamKernel(backendName: FusedBackendName): KernelFunc {
  return ({ inputs, backend, attrs = {} }) => {
    const io = kernelIO(backendName, backend);
    const ins = inputs as Record<string, TensorInfo>;
    const count = attrs.count as number;
    const a = attrs as unknown as {
      lr: number;
      beta1: number;
      beta2: number;
      epsilon: number;
      accBeta1: number;
      accBeta2: number;
    };
    const b1 = f(a.beta1);
    const b2 = f(a.beta2);
    const c = {
      b1,
      b2,
      omb1: f(1 - a.beta1), // tfjs: mul(g, 1 - β₁) with the JS double rounded to float32
      omb2: f(1 - a.beta2),
      d1: f(1 - f(a.accBeta1)), // tfjs: sub(1, accBeta1) in float32
      d2: f(1 - f(a.accBeta2)),
      eps: f(a.epsilon),
      nlr: f(-a.lr),
    };
    // Every output first (wasm: malloc may replace the heap), then views.
    const outs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      const x = ins[`x${i}`] as TensorInfo;
      for (const k of ['x', 'm', 'v', 'g']) {
        const t = ins[`${k}${i}`];
        if (t == null) throw new Error(`${FUSED_ADAM_KERNEL}: input ${k}${i} is missing`);
        if (t.dtype !== 'float32' || t.shape.length !== x.shape.length || !t.shape.every((d, q) => d === x.shape[q])) {
          throw new Error(`${FUSED_ADAM_KERNEL}: ${k}${i} is ${t.dtype} [${t.shape}], expected float32 [${x.shape}]`);
        }
      }
      outs.push(io.alloc(x.shape, 'float32'), io.alloc(x.shape, 'float32'), io.alloc(x.shape, 'float32'));
    }
    const addon = backendName === 'wasm' ? activeNativeAddon() : null;
    const heap = addon?.adam ? wasmHeapBuffer(backend) : null;
    if (addon?.adam && heap) {
      // @road/native: the same float32 arithmetic in C++ (~10× the JS loop), in place on the wasm heap.
      const table = new Float64Array(8 * count);
      for (let i = 0; i < count; i++) {
        const offs = [
          ...['x', 'm', 'v', 'g'].map((k) => ins[`${k}${i}`] as TensorInfo),
          ...outs.slice(3 * i, 3 * i + 3),
        ];
        offs.forEach((t, q) => {
          table[8 * i + q] = wasmOffset(backend, t);
        });
        table[8 * i + 7] = (ins[`x${i}`] as TensorInfo).shape.reduce((p, d) => p * d, 1);
      }
      addon.adam(heap, table, Float64Array.from([c.b1, c.omb1, c.b2, c.omb2, c.d1, c.d2, c.eps, c.nlr]));
      return outs;
    }
    for (let i = 0; i < count; i++) {
      const vw = (k: string) => io.view(ins[`${k}${i}`] as TensorInfo) as Float32Array;
      const o = (q: number) => io.view(outs[3 * i + q] as TensorInfo) as Float32Array;
      adamArrays(vw('x'), vw('m'), vw('v'), vw('g'), o(0), o(1), o(2), c);
    }
    return outs;
  };
}

/** Registers {@link FUSED_ADAM_KERNEL} for cpu and wasm (idempotent; the optimizer does it when made). */
export function registerFusedAdamKernel(): void {
  ensureFusedKernel(FUSED_ADAM_KERNEL, fusedAdamKernel);
}

/**
 * tfjs's Adam optimizer (Kingma & Ba 2015) with the update of every variable done by one fused kernel on the
 * cpu and wasm backends:
 *
 *   m_t = β₁ m_{t−1} + (1−β₁) g_t,   v_t = β₂ v_{t−1} + (1−β₂) g_t²,
 *   x_t = x_{t−1} − lr · m̂_t / (√v̂_t + ε),   m̂_t = m_t / (1−β₁ᵗ),  v̂_t = v_t / (1−β₂ᵗ).
 *
 * A drop-in for `tf.train.adam`: it *is* a `tf.AdamOptimizer` (same `getWeights`/`setWeights` slots `name/m`,
 * `name/v` and `iter`, same `accBeta1`/`accBeta2` variables updated by β per step, `iterations`, null gradients
 * skipped, `learningRate` read at each step), and its results equal the stock update's float32 rounding
 * (every intermediate is rounded as the stock op chain rounds it). Where the kernel is not registered for the
 * active backend (webgpu, tensorflow) `applyGradients` is the stock one.
 *
 * Mode `'all'` (default) runs one kernel call for all variables of a step; `'per-variable'` one per variable.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Kernel grouping, see the class comment. */
  readonly mode: FusedAdamMode;

  constructor(
    learningRate: number,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon: number | null = null,
    mode: FusedAdamMode = 'all',
  ) {
    super(learningRate, beta1, beta2, epsilon as number);
    this.mode = mode;
    registerFusedAdamKernel();
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!fusedKernelAvailable(FUSED_ADAM_KERNEL, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const items: { x: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor }[] = [];
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (value == null) throw new Error(`FusedAdamOptimizer: no variable named '${name}' is registered`);
      // Slots are made for every listed variable (null gradient or not), as the stock optimizer does.
      self.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      self.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const g = list
        ? (variableGradients as NamedGradient[])[i]?.tensor
        : (variableGradients as Record<string, tf.Tensor>)[name];
      if (g == null) return;
      items.push({
        x: value,
        m: self.accumulatedFirstMoment[i].variable,
        v: self.accumulatedSecondMoment[i].variable,
        g,
      });
    });
    if (items.some(({ x, g }) => x.dtype !== 'float32' || g.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    // β-powers as float32 numbers (reads of two scalars held by the backend: cheap on cpu and wasm).
    const accBeta1 = self.accBeta1.dataSync()[0];
    const accBeta2 = self.accBeta2.dataSync()[0];
    const attrs = {
      lr: self.learningRate,
      beta1: self.beta1,
      beta2: self.beta2,
      epsilon: self.epsilon,
      accBeta1,
      accBeta2,
    };
    tf.tidy(() => {
      const groups = this.mode === 'all' ? (items.length ? [items] : []) : items.map((it) => [it]);
      for (const group of groups) {
        const inputs: tf.NamedTensorMap = {};
        group.forEach((it, i) => {
          inputs[`x${i}`] = it.x;
          inputs[`m${i}`] = it.m;
          inputs[`v${i}`] = it.v;
          inputs[`g${i}`] = it.g;
        });
        const outs = tf.engine().runKernel(FUSED_ADAM_KERNEL, inputs, { ...attrs, count: group.length }) as tf.Tensor[];
        group.forEach((it, i) => {
          it.x.assign(outs[3 * i]);
          it.m.assign(outs[3 * i + 1]);
          it.v.assign(outs[3 * i + 2]);
        });
      }
      // accβ ← accβ · β in float32, as the stock optimizer's mul(accBeta, β).
      self.accBeta1.assign(tf.scalar(f(f(accBeta1) * f(self.beta1))));
      self.accBeta2.assign(tf.scalar(f(f(accBeta2) * f(self.beta2))));
    });
    self.incrementIterations();
  }
}

/**
 * A {@link FusedAdamOptimizer} with tfjs's defaults (β₁ 0.9, β₂ 0.999, ε = the backend's epsilon):
 * `createFusedAdam(lr)` replaces `tf.train.adam(lr)`.
 */
export function createFusedAdam(
  learningRate: number,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon: number | null = null,
  mode: FusedAdamMode = 'all',
): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon, mode);
}
