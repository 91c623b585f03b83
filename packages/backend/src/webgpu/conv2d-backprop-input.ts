// Conv2DBackpropInput for tfjs-backend-webgpu as a tiled GEMM (WGSL compute program).
//
// dx[b, ih, iw, ci] = Σ_{kh, kw, co} dy[b, oh, ow, co] · W[kh, kw, ci, co],  oh = (ih + pt − kh·dh) / sh,
//                                                                              ow = (iw + pl − kw·dw) / sw
// (terms where the division is not exact or (oh, ow) falls outside dy are 0), i.e. dx (M × N, M = B·H·W pixels,
// N = Ci) = A · B with A[m, (kh, kw, co)] = dy gathered as above (never materialised) and B[(kh, kw, co), ci] =
// W[kh, kw, ci, co]. 64 × 64 output tiles per workgroup, 16 × 16 threads with 4 × 4 outputs each, the reduction
// (KH·KW·Co, small) walked in steps of 16 through workgroup-shared tiles; tiles are loaded along the reduction index,
// whose fastest part (co) is contiguous in both dy and W.
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike, WebGPUProgramLike } from './program.js';

const TILE = 64;
const TK = 16;

/** The GEMM program: output dx in the input's shape [B, H, W, Ci]. */
export class Conv2DBackpropInputGemmProgram implements WebGPUProgramLike {
  variableNames = ['dy', 'W'];
  uniforms =
    'M : i32, N : i32, K : i32, co : i32, kw : i32, oh : i32, ow : i32, ih : i32, iw : i32, stride : vec2<i32>, pad : vec2<i32>, dilation : vec2<i32>,';
  outputShape: number[];
  dispatchLayout = { x: [3], y: [1, 2], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];
  shaderKey = 'roadConv2DBackpropInputGemm64x64x16';

  constructor(inShape: number[]) {
    this.outputShape = inShape;
    const M = inShape[0] * inShape[1] * inShape[2];
    this.dispatch = [Math.ceil(inShape[3] / TILE), Math.ceil(M / TILE), 1];
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
  let hw = uniforms.ih * uniforms.iw;

  // Loading: this thread fills reduction row r of both tiles, columns c, c + 16, c + 32, c + 48.
  let r = tid % ${TK};
  let c = tid / ${TK};
  var pb : array<i32, 4>;
  var py : array<i32, 4>;
  var px : array<i32, 4>;
  for (var i = 0; i < 4; i++) {
    let m = m0 + c + 16 * i;
    pb[i] = m / hw;
    let p = m - pb[i] * hw;
    py[i] = p / uniforms.iw;
    px[i] = p - py[i] * uniforms.iw;
  }

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  let steps = (uniforms.K + ${TK - 1}) / ${TK};
  for (var step = 0; step < steps; step++) {
    let k = step * ${TK} + r;
    let kIn = k < uniforms.K;
    let co = k % uniforms.co;
    let tap = k / uniforms.co;
    let kh = tap / uniforms.kw;
    let kwi = tap - kh * uniforms.kw;
    for (var i = 0; i < 4; i++) {
      let col = c + 16 * i;
      var a = 0.0;
      let m = m0 + col;
      if (kIn && m < uniforms.M) {
        let ty2 = py[i] + uniforms.pad.x - kh * uniforms.dilation.x;
        let tx2 = px[i] + uniforms.pad.y - kwi * uniforms.dilation.y;
        if (ty2 >= 0 && tx2 >= 0 && ty2 % uniforms.stride.x == 0 && tx2 % uniforms.stride.y == 0) {
          let oy = ty2 / uniforms.stride.x;
          let ox = tx2 / uniforms.stride.y;
          if (oy < uniforms.oh && ox < uniforms.ow) {
            a = dy[((pb[i] * uniforms.oh + oy) * uniforms.ow + ox) * uniforms.co + co];
          }
        }
      }
      tileA[r][col] = a;
      var b = 0.0;
      let n = n0 + col;
      if (kIn && n < uniforms.N) {
        b = W[(tap * uniforms.N + n) * uniforms.co + co];
      }
      tileB[r][col] = b;
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
          result[mo * uniforms.N + no] = accI[j];
        }
      }
    }
  }
}
`;
  }
}

/**
 * Conv2DBackpropInput on the WebGPU backend ({@link Conv2DBackpropInputGemmProgram}). NHWC float32 only; anything
 * else goes to `fallback` (the shipped kernel).
 */
export function conv2dBackpropInputWebgpu(fallback?: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { dy: TensorInfo; filter: TensorInfo };
      backend: WebGPUBackendLike;
      attrs: {
        inputShape: [number, number, number, number];
        strides: number | [number, number];
        pad: backend_util.ExplicitPadding | 'same' | 'valid' | number;
        dataFormat?: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        dilations?: number | [number, number];
      };
    };
    const { dy, filter } = inputs;
    const dataFormat = attrs.dataFormat ?? 'NHWC';
    if (dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      if (fallback == null)
        throw new Error(`road webgpu Conv2DBackpropInput: only NHWC float32 (got ${dataFormat}, ${dy.dtype})`);
      return fallback(args);
    }
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const M = info.batchSize * info.inHeight * info.inWidth;
    const uniforms = [
      { type: 'int32', data: [M] },
      { type: 'int32', data: [info.inChannels] },
      { type: 'int32', data: [info.filterHeight * info.filterWidth * info.outChannels] },
      { type: 'int32', data: [info.outChannels] },
      { type: 'int32', data: [info.filterWidth] },
      { type: 'int32', data: [info.outHeight] },
      { type: 'int32', data: [info.outWidth] },
      { type: 'int32', data: [info.inHeight] },
      { type: 'int32', data: [info.inWidth] },
      { type: 'int32', data: [info.strideHeight, info.strideWidth] },
      { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
      { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
    ];
    return backend.runWebGPUProgram(
      new Conv2DBackpropInputGemmProgram([...attrs.inputShape]),
      [dy, filter],
      'float32',
      uniforms,
    );
  };
}

/** Kernel config of {@link conv2dBackpropInputWebgpu} for the 'webgpu' backend. */
export function conv2dBackpropInputWebgpuConfig(shipped?: KernelConfig): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'webgpu',
    kernelFunc: conv2dBackpropInputWebgpu(shipped?.kernelFunc),
  };
}
