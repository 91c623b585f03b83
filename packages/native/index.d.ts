/**
 * Geometry of one convolution y = conv(x, W), NHWC / HWIO, as 15 integers:
 * [n, h, w, ci, oh, ow, co, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft].
 */
export type ConvGeometry = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/** The native addon. Every kernel reads and writes float32 tensors in place at byte offsets of one ArrayBuffer. */
export interface RoadNativeAddon {
  /** y = act(conv(x, W) + bias): biasOffset −1 = no bias; relu = max(0, ·). */
  conv2d(
    heap: ArrayBuffer,
    xOffset: number,
    filterOffset: number,
    biasOffset: number,
    yOffset: number,
    geometry: ConvGeometry,
    relu: boolean,
  ): void;
  /** dx[n,h,w,ci] = Σ dy · W (the gradient of conv2d with respect to x); dx is overwritten. */
  conv2dBackpropInput(
    heap: ArrayBuffer,
    dyOffset: number,
    filterOffset: number,
    dxOffset: number,
    geometry: ConvGeometry,
  ): void;
  /** dW[kh,kw,ci,co] = Σ x · dy (the gradient of conv2d with respect to W); dW is overwritten. */
  conv2dBackpropFilter(
    heap: ArrayBuffer,
    xOffset: number,
    dyOffset: number,
    dwOffset: number,
    geometry: ConvGeometry,
  ): void;
  /** Threads in the pool (the calling thread included), the micro-kernel in use and the best one this CPU has. */
  info(): NativeInfo;
  /** Sets the thread count (0 = default: ROAD_NATIVE_THREADS or the core count) and/or the micro-kernel. */
  configure(options: { threads?: number; isa?: 'generic' | 'avx2-fma' | 'best' }): NativeInfo;
  /**
   * One Adam step for many variables on the heap: `table` holds 8 numbers per variable (byte offsets of x, m, v, g,
   * x', m', v' and the element count), `constants` [β₁, 1−β₁, β₂, 1−β₂, 1−β₁ᵗ, 1−β₂ᵗ, ε, −lr] as float32 values.
   * Every intermediate is rounded to float32 in tfjs's AdamOptimizer order (bit-equal to the stock update).
   */
  adam(heap: ArrayBuffer, table: Float64Array, constants: Float64Array): void;
  /**
   * The kernel running now on any thread (null when none): its name, geometry (convolutions) and seconds so far.
   * Callable from a worker thread while the main thread is inside the kernel (a step watchdog uses it).
   */
  inFlight(): { kernel: string; geometry?: ConvGeometry; seconds: number } | null;
  /**
   * Ends the whole process now with `code` (no JS runs after it), from any thread: for a watchdog on a worker
   * thread whose main thread is stuck in synchronous code. Write what must be said (fs.writeSync) first.
   */
  exitProcess(code: number): never;
}

/** What {@link RoadNativeAddon.info} reports. */
export interface NativeInfo {
  threads: number;
  isa: 'generic' | 'avx2-fma';
  bestIsa: 'generic' | 'avx2-fma';
}

/** build/status.json, written by scripts/build.mjs. */
export interface BuildStatus {
  built: boolean;
  reason: string;
  compiler?: string;
  headers?: string;
  seconds?: number;
  node: string;
  platform: string;
  date: string;
}

/** The addon, or null with the reason (ROAD_NATIVE=0, not built, failed to load). Never throws. */
export function loadNative(options?: { path?: string; fresh?: boolean }): {
  addon: RoadNativeAddon | null;
  reason: string;
  /** The binary that loaded (build/ from source, or prebuilds/<platform>-<arch>/), when one did. */
  path?: string;
};
/** build/status.json, or null when the build never ran. */
export function buildStatus(): BuildStatus | null;
/** Absolute path of build/road_native.node. */
export const addonPath: string;
