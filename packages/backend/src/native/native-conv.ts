import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  FusedConv2D,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from '../wasm/backend-wasm.js';

/** The parts of `@road/native`'s addon these kernels call (see packages/native/index.d.ts). */
export interface NativeConvAddon {
  conv2d(heap: ArrayBuffer, x: number, w: number, bias: number, y: number, geometry: number[], relu: boolean): void;
  conv2dBackpropInput(heap: ArrayBuffer, dy: number, w: number, dx: number, geometry: number[]): void;
  conv2dBackpropFilter(heap: ArrayBuffer, x: number, dy: number, dw: number, geometry: number[]): void;
  /** One Adam step for many variables (rows of 8: x, m, v, g, x', m', v' byte offsets and the count); absent in old builds. */
  adam?(heap: ArrayBuffer, table: Float64Array, constants: Float64Array): void;
  info(): { threads: number; isa: string; bestIsa: string };
  configure(options: { threads?: number; isa?: string }): { threads: number; isa: string; bestIsa: string };
}

type Shape4 = [number, number, number, number];

/**
 * dX through the native gather-GEMM does about h·w/(sh·sw·oh·ow) times the useful work (each input pixel visits
 * every tap of its stride phase, also those that fall outside dy): above this ratio (large 'valid' filters) the
 * fallback kernel is used.
 */
export const NATIVE_DX_MAX_WASTE = 2;

/**
 * When a native kernel hands a call to its fallback. The GEMM's columns come in panels of 16, so very few output
 * channels (forward) or input channels (dX) waste most of each panel.
 */
export interface NativeRules {
  /** dX: largest h·w / (sh·sw·oh·ow) taken natively. Default {@link NATIVE_DX_MAX_WASTE}. */
  dxMaxWaste: number;
  /** dX: fewest input channels (the dX GEMM's columns) taken natively. */
  dxMinInChannels: number;
  /** Conv2D / FusedConv2D: fewest output channels taken natively. */
  convMinOutChannels: number;
  /** Conv2D / FusedConv2D: fewest input channels taken natively (im2col packing dominates below). */
  convMinInChannels: number;
}

/** The measured defaults (see packages/native/README.md). */
export const DEFAULT_NATIVE_RULES: NativeRules = {
  dxMaxWaste: NATIVE_DX_MAX_WASTE,
  dxMinInChannels: 1,
  convMinOutChannels: 2,
  convMinInChannels: 4,
};

function offsetOf(backend: WasmBackendInternals, t: TensorInfo, what: string): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) throw new Error(`@road/backend native kernels: ${what} is not a tensor of the wasm backend`);
  return data.memoryOffset;
}

/**
 * True when the backend's heap is a plain ArrayBuffer (the addon reads it in place); a multi-threaded wasm build keeps
 * its heap in a SharedArrayBuffer, which the kernels leave to the fallback.
 */
function heapIsArrayBuffer(backend: unknown): boolean {
  const wasm = (backend as Partial<WasmBackendInternals>).wasm;
  return wasm?.HEAPU8?.buffer instanceof ArrayBuffer;
}

function isNHWC(dataFormat: string | undefined): boolean {
  return dataFormat == null || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** [n,h,w,ci, oh,ow,co, kh,kw, sh,sw, dh,dw, top,left] as the addon takes it. */
export function nativeGeometry(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/**
 * Runs a native kernel in place on the wasm heap: allocates the output first (that may grow the heap and detach
 * older views), then takes the heap's current ArrayBuffer and the tensors' byte offsets.
 */
function runNative(
  backend: WasmBackendInternals,
  outShape: number[],
  inputs: TensorInfo[],
  call: (heap: ArrayBuffer, out: number, ins: number[]) => void,
): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  if (size(outShape) === 0) return out;
  const ins = inputs.map((t, i) => offsetOf(backend, t, `input ${i}`));
  call(backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, out, 'output'), ins);
  return out;
}

/**
 * What the forward native kernel needs of a Conv2D / FusedConv2D call: NHWC float32 on a plain wasm heap, and at
 * least `minCo` output / `minCi` input channels (thin convs are faster on XNNPACK).
 */
function forwardConvEligible(
  args: Parameters<KernelFunc>[0],
  x: TensorInfo,
  filter: TensorInfo,
  minCo: number,
  minCi: number,
): boolean {
  const { dataFormat } = args.attrs as unknown as Conv2DAttrs;
  return (
    heapIsArrayBuffer(args.backend) &&
    isNHWC(dataFormat) &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    filter.shape[3] >= minCo &&
    filter.shape[2] >= minCi
  );
}

/** Runs the native forward conv (optional bias, optional fused ReLU) with the geometry of the call's attributes. */
function runNativeForwardConv(
  addon: NativeConvAddon,
  args: Parameters<KernelFunc>[0],
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const { strides, pad, dilations, dimRoundingMode } = args.attrs as unknown as Conv2DAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filter.shape as Shape4,
    strides,
    dilations,
    pad,
    dimRoundingMode,
  );
  const g = nativeGeometry(info);
  const ins = bias == null ? [x, filter] : [x, filter, bias];
  return runNative(args.backend as unknown as WasmBackendInternals, info.outShape, ins, (heap, y, [xo, wo, bo]) =>
    addon.conv2d(heap, xo, wo, bo ?? -1, y, g, relu),
  );
}

/**
 * `Conv2D` on the wasm backend through the native kernel: y[n,i,j,co] = Σ_{a,b,ci} x[n, i·sh + a·dh − top,
 * j·sw + b·dw − left, ci] · W[a,b,ci,co] (zero outside x). Non-NHWC layouts, other dtypes and fewer output channels
 * than `rules.convMinOutChannels` (or input channels than `rules.convMinInChannels`) go to `fallback`.
 */
export function nativeConv2dConfig(
  addon: NativeConvAddon,
  fallback: KernelConfig,
  rules: Partial<NativeRules> = {},
): KernelConfig {
  const minCo = rules.convMinOutChannels ?? DEFAULT_NATIVE_RULES.convMinOutChannels;
  const minCi = rules.convMinInChannels ?? DEFAULT_NATIVE_RULES.convMinInChannels;
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    if (!forwardConvEligible(args, x, filter, minCo, minCi)) return fallback.kernelFunc(args);
    return runNativeForwardConv(addon, args, x, filter, undefined, false);
  };
  return { ...fallback, kernelName: Conv2D, kernelFunc };
}

/**
 * `FusedConv2D` (conv + optional rank-1 bias + 'linear' or 'relu') through the native kernel; any other activation,
 * PReLU weights, a broadcast bias, a non-NHWC layout or fewer output / input channels than `rules.convMinOutChannels` / `convMinInChannels`
 * go to `fallback` (the shipped wasm kernel).
 */
export function nativeFusedConv2dConfig(
  addon: NativeConvAddon,
  fallback: KernelConfig,
  rules: Partial<NativeRules> = {},
): KernelConfig {
  const minCo = rules.convMinOutChannels ?? DEFAULT_NATIVE_RULES.convMinOutChannels;
  const minCi = rules.convMinInChannels ?? DEFAULT_NATIVE_RULES.convMinInChannels;
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: TensorInfo;
      filter: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const act = (args.attrs as unknown as FusedConv2DAttrs).activation ?? 'linear';
    const co = filter.shape[3];
    if (
      !forwardConvEligible(args, x, filter, minCo, minCi) ||
      (act !== 'linear' && act !== 'relu') ||
      preluActivationWeights != null ||
      (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== co))
    ) {
      return fallback.kernelFunc(args);
    }
    return runNativeForwardConv(addon, args, x, filter, bias, act === 'relu');
  };
  return { ...fallback, kernelName: FusedConv2D, kernelFunc };
}

/**
 * `Conv2DBackpropInput` through the native kernel:
 * dX[n,r,s,ci] = Σ_{a,b,co} dy[n, (r + top − a)/sh, (s + left − b)/sw, co] · W[a,b,ci,co] over the integer quotients
 * inside dy, one GEMM per stride phase (only the taps that reach that phase). Geometries where the gather wastes
 * more than {@link NATIVE_DX_MAX_WASTE}× (large 'valid' filters) or with fewer input channels than
 * `rules.dxMinInChannels` go to `fallback` (defaults: {@link DEFAULT_NATIVE_RULES}).
 */
export function nativeConv2dBackpropInputConfig(
  addon: NativeConvAddon,
  fallback: KernelConfig,
  rules: Partial<NativeRules> = {},
): KernelConfig {
  const maxWaste = rules.dxMaxWaste ?? DEFAULT_NATIVE_RULES.dxMaxWaste;
  const minCi = rules.dxMinInChannels ?? DEFAULT_NATIVE_RULES.dxMinInChannels;
  const kernelFunc: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    if (!heapIsArrayBuffer(args.backend) || !isNHWC(dataFormat) || dy.dtype !== 'float32' || filter.dtype !== 'float32')
      return fallback.kernelFunc(args);
    const info = backend_util.computeConv2DInfo(
      inputShape as Shape4,
      filter.shape as Shape4,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (
      info.inChannels < minCi ||
      info.inHeight * info.inWidth > maxWaste * info.strideHeight * info.strideWidth * info.outHeight * info.outWidth
    ) {
      return fallback.kernelFunc(args);
    }
    const g = nativeGeometry(info);
    return runNative(
      args.backend as unknown as WasmBackendInternals,
      [...inputShape],
      [dy, filter],
      (heap, dx, [dyo, wo]) => addon.conv2dBackpropInput(heap, dyo, wo, dx, g),
    );
  };
  return { ...fallback, kernelName: Conv2DBackpropInput, kernelFunc };
}

/**
 * `Conv2DBackpropFilter` through the native kernel: dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·sh + a − top, j·sw + b − left, ci]
 * · dy[n,i,j,co], as dWᵀ = dyᵀ · im2col(x) with the im2col built tile by tile and per-thread partial sums.
 */
export function nativeConv2dBackpropFilterConfig(addon: NativeConvAddon, fallback: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations } =
      args.attrs as unknown as Conv2DBackpropFilterAttrs & { dilations?: number | [number, number] };
    const dilated =
      dilations != null && !(Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1);
    if (!heapIsArrayBuffer(args.backend) || !isNHWC(dataFormat) || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      if (dilated) {
        // Only callers that saw NATIVE_DILATED_FILTER_GRAD pass dilations; the shipped kernel would ignore them.
        throw new Error(
          `@road/backend ${Conv2DBackpropFilter}: dilations [${dilations}] need the native kernel (NHWC float32 on a non-shared wasm heap)`,
        );
      }
      return fallback.kernelFunc(args);
    }
    const info = backend_util.computeConv2DInfo(
      x.shape as Shape4,
      filterShape as Shape4,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
    );
    if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) {
      throw new Error(
        `@road/backend ${Conv2DBackpropFilter}: dy has shape [${dy.shape}], the forward conv of x [${x.shape}] ` +
          `with filter [${filterShape}] gives [${info.outShape}]`,
      );
    }
    const g = nativeGeometry(info);
    return runNative(
      args.backend as unknown as WasmBackendInternals,
      [...filterShape],
      [x, dy],
      (heap, dw, [xo, dyo]) => addon.conv2dBackpropFilter(heap, xo, dyo, dw, g),
    );
  };
  return {
    ...fallback,
    kernelName: Conv2DBackpropFilter,
    kernelFunc,
    [NATIVE_DILATED_FILTER_GRAD]: true,
  } as KernelConfig;
}

/**
 * Marker on a registered `Conv2DBackpropFilter` config that honours a `dilations` attribute (tfjs's kernels have
 * none): the dilated-conv gradient (conv2d-grad.ts) then computes dW in one kernel call instead of two transposes and
 * a forward conv.
 */
export const NATIVE_DILATED_FILTER_GRAD: unique symbol = Symbol.for('@road/backend:filter-grad-dilations') as never;
