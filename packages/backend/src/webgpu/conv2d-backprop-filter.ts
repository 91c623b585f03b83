// Conv2DBackpropFilter for tfjs-backend-webgpu as a tiled, split-K GEMM (WGSL compute programs).
//
// dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·sh − pt + kh, ow·sw − pl + kw, ci] · dy[b, oh, ow, co]
//
// i.e. dW (M × N, M = KH·KW·Ci, N = Co) = Aᵀ · B with A = im2col(x) (K × M, K = B·OH·OW, never materialised) and
// B = dy viewed as K × N (contiguous). The reduction dimension K is huge and the output small, so one output tile per
// workgroup (tfjs's shipped kernel: one output element per thread, each summing all of K) leaves the GPU idle. Here:
// 64 × 64 output tiles, 16 × 16 threads with 4 × 4 outputs each, K walked in steps of 16 through workgroup-shared
// tiles, and K split into S chunks (one per workgroup z) whose partial sums a second program adds.
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike, WebGPUProgramLike } from './program.js';

const TILE = 64;
const TK = 16;

/** Uniform values of the GEMM program, in the order of its `uniforms` declaration. */
function gemmUniforms(info: backend_util.Conv2DInfo, K: number, M: number, kChunk: number) {
  return [
    { type: 'int32', data: [K] },
    { type: 'int32', data: [M] },
    { type: 'int32', data: [info.outChannels] },
    { type: 'int32', data: [kChunk] },
    { type: 'int32', data: [info.inChannels] },
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [info.outHeight] },
    { type: 'int32', data: [info.outWidth] },
    { type: 'int32', data: [info.inHeight] },
    { type: 'int32', data: [info.inWidth] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
  ];
}

/** The split-K GEMM program: output [S, M, N] partial sums (or the filter shape itself when S = 1). */
export class Conv2DBackpropFilterGemmProgram implements WebGPUProgramLike {
  variableNames = ['x', 'dy'];
  uniforms =
    'K : i32, M : i32, N : i32, kChunk : i32, ci : i32, kw : i32, oh : i32, ow : i32, ih : i32, iw : i32, stride : vec2<i32>, pad : vec2<i32>, dilation : vec2<i32>,';
  outputShape: number[];
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];
  shaderKey = 'roadConv2DBackpropFilterGemm64x64x16';

  constructor(outputShape: number[], M: number, N: number, splits: number) {
    this.outputShape = outputShape;
    this.dispatch = [Math.ceil(N / TILE), Math.ceil(M / TILE), splits];
  }

  getUserCode(): string {
    return `
var<workgroup> tileA : array<array<f32, ${TILE}>, ${TK}>;
var<workgroup> tileB : array<array<f32, ${TILE}>, ${TK}>;

fn main() {
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let tid = ty * 16 + tx;
  let n0 = i32(workgroupId.x) * ${TILE};
  let m0 = i32(workgroupId.y) * ${TILE};
  let split = i32(workgroupId.z);
  let kBegin = split * uniforms.kChunk;
  let kEnd = min(kBegin + uniforms.kChunk, uniforms.K);

  // Loading: this thread fills column lc of both tiles, rows lr, lr + 4, lr + 8, lr + 12.
  let lc = tid % ${TILE};
  let lr = tid / ${TILE};
  let m = m0 + lc;
  let mIn = m < uniforms.M;
  let ci = m % uniforms.ci;
  let tap = m / uniforms.ci;
  let offR = (tap / uniforms.kw) * uniforms.dilation.x - uniforms.pad.x;
  let offC = (tap % uniforms.kw) * uniforms.dilation.y - uniforms.pad.y;
  let n = n0 + lc;
  let nIn = n < uniforms.N;
  let ohow = uniforms.oh * uniforms.ow;

  // (b, oh, ow) of the rows this thread loads, advanced by ${TK} per step instead of divided each time.
  var rb : array<i32, 4>;
  var rh : array<i32, 4>;
  var rw : array<i32, 4>;
  for (var i = 0; i < 4; i++) {
    let k = kBegin + lr + 4 * i;
    rb[i] = k / ohow;
    let p = k - rb[i] * ohow;
    rh[i] = p / uniforms.ow;
    rw[i] = p - rh[i] * uniforms.ow;
  }

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  // The step count comes from uniforms only: workgroupBarrier() needs uniform control flow (rows past kEnd load 0).
  let steps = uniforms.kChunk / ${TK};
  for (var step = 0; step < steps; step++) {
    let k0 = kBegin + step * ${TK};
    for (var i = 0; i < 4; i++) {
      let r = lr + 4 * i;
      let k = k0 + r;
      var a = 0.0;
      var g = 0.0;
      if (k < kEnd) {
        if (mIn) {
          let y = rh[i] * uniforms.stride.x + offR;
          let xc = rw[i] * uniforms.stride.y + offC;
          if (y >= 0 && y < uniforms.ih && xc >= 0 && xc < uniforms.iw) {
            a = x[((rb[i] * uniforms.ih + y) * uniforms.iw + xc) * uniforms.ci + ci];
          }
        }
        if (nIn) {
          g = dy[k * uniforms.N + n];
        }
      }
      tileA[r][lc] = a;
      tileB[r][lc] = g;
      rw[i] = rw[i] + ${TK};
      while (rw[i] >= uniforms.ow) {
        rw[i] = rw[i] - uniforms.ow;
        rh[i] = rh[i] + 1;
      }
      while (rh[i] >= uniforms.oh) {
        rh[i] = rh[i] - uniforms.oh;
        rb[i] = rb[i] + 1;
      }
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${TK}; kk++) {
      let bv = vec4<f32>(tileB[kk][tx], tileB[kk][tx + 16], tileB[kk][tx + 32], tileB[kk][tx + 48]);
      acc0 = acc0 + tileA[kk][ty] * bv;
      acc1 = acc1 + tileA[kk][ty + 16] * bv;
      acc2 = acc2 + tileA[kk][ty + 32] * bv;
      acc3 = acc3 + tileA[kk][ty + 48] * bv;
    }
    workgroupBarrier();
  }

  let base = split * uniforms.M * uniforms.N;
  for (var i = 0; i < 4; i++) {
    let mo = m0 + ty + 16 * i;
    if (mo < uniforms.M) {
      var accI = acc0;
      if (i == 1) { accI = acc1; }
      if (i == 2) { accI = acc2; }
      if (i == 3) { accI = acc3; }
      for (var j = 0; j < 4; j++) {
        let no = n0 + tx + 16 * j;
        if (no < uniforms.N) {
          result[base + mo * uniforms.N + no] = accI[j];
        }
      }
    }
  }
}
`;
  }
}

/** Sums S partial results [S, size] into the output (any shape of `size` elements). */
export class SplitKSumProgram implements WebGPUProgramLike {
  variableNames = ['partial'];
  uniforms = 'splits : i32,';
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  shaderKey = 'roadSplitKSum';

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / 64), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    var s = 0.0;
    for (var p = 0; p < uniforms.splits; p++) {
      s = s + partial[p * uniforms.size + index];
    }
    setOutputAtIndex(index, s);
  }
}
`;
  }
}

/** Tuning of {@link planSplitK}. */
export interface SplitOptions {
  /** Workgroups to aim for (output tiles × chunks); default 1,024 (≈ 2 per SM on a 132-SM H100 at 256 threads). */
  targetWorkgroups?: number;
  /** Fewest reduction rows per chunk (default 256). */
  minChunk?: number;
  /** Largest partial-sum buffer (default 64 MiB). */
  maxPartialBytes?: number;
}

/** How the K = B·OH·OW reduction is split: S chunks of `kChunk` rows (a multiple of 16). */
export interface SplitPlan {
  splits: number;
  kChunk: number;
}

/**
 * Chooses the split of the reduction: enough workgroups to fill a large GPU (≈ `targetWorkgroups`), each
 * reducing at least `minChunk` rows, with the partial sums under `maxPartialBytes`.
 */
export function planSplitK(K: number, M: number, N: number, options: SplitOptions = {}): SplitPlan {
  const { targetWorkgroups = 1024, minChunk = 256, maxPartialBytes = 64 * 1024 * 1024 } = options;
  if (K <= 0) return { splits: 1, kChunk: 0 }; // an empty batch: one pass that writes zeros
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE);
  let s = Math.ceil(targetWorkgroups / tiles);
  s = Math.min(s, Math.max(1, Math.floor(K / minChunk)), Math.max(1, Math.floor(maxPartialBytes / (4 * M * N))), 65535);
  s = Math.max(1, s);
  const kChunk = Math.ceil(Math.ceil(K / s) / TK) * TK;
  return { splits: Math.ceil(K / kChunk), kChunk };
}

/**
 * Conv2DBackpropFilter on the WebGPU backend: {@link Conv2DBackpropFilterGemmProgram} (+ {@link SplitKSumProgram}).
 * NHWC float32 only; anything else goes to `fallback` (the shipped kernel). `split` tunes {@link planSplitK}.
 */
export function conv2dBackpropFilterWebgpu(fallback?: KernelFunc, split: SplitOptions = {}): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { x: TensorInfo; dy: TensorInfo };
      backend: WebGPUBackendLike;
      attrs: {
        strides: number | [number, number];
        pad: backend_util.ExplicitPadding | 'same' | 'valid' | number;
        dataFormat?: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
        dilations?: number | [number, number];
      };
    };
    const { x, dy } = inputs;
    const dataFormat = attrs.dataFormat ?? 'NHWC';
    if (dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      if (fallback == null)
        throw new Error(`road webgpu Conv2DBackpropFilter: only NHWC float32 (got ${dataFormat}, ${x.dtype})`);
      return fallback(args);
    }
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const M = info.filterHeight * info.filterWidth * info.inChannels;
    const N = info.outChannels;
    const K = info.batchSize * info.outHeight * info.outWidth;
    const { splits, kChunk } = planSplitK(K, M, N, split);
    const uniforms = gemmUniforms(info, K, M, kChunk);
    if (splits === 1 || K === 0) {
      const program = new Conv2DBackpropFilterGemmProgram([...attrs.filterShape], M, N, 1);
      return backend.runWebGPUProgram(program, [x, dy], 'float32', uniforms);
    }
    const partial = backend.runWebGPUProgram(
      new Conv2DBackpropFilterGemmProgram([splits, M, N], M, N, splits),
      [x, dy],
      'float32',
      uniforms,
    );
    const sum = backend.runWebGPUProgram(new SplitKSumProgram([...attrs.filterShape]), [partial], 'float32', [
      { type: 'int32', data: [splits] },
    ]);
    backend.disposeData(partial.dataId);
    return sum;
  };
}

/** Kernel config of {@link conv2dBackpropFilterWebgpu} for the 'webgpu' backend. */
export function conv2dBackpropFilterWebgpuConfig(shipped?: KernelConfig): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'webgpu',
    kernelFunc: conv2dBackpropFilterWebgpu(shipped?.kernelFunc),
  };
}
