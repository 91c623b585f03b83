// Dawn (the `webgpu` npm package) as the provider of `navigator.gpu`: the hardware path (Vulkan on Linux) and the
// opt-in software path (Dawn's OpenGL backend on Mesa llvmpipe, WebGPU compatibility mode).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Options of the `webgpu` backend (see {@link loadWebgpu} in loaders.ts). */
export interface WebgpuOptions {
  /**
   * Accept a software adapter: Dawn's OpenGL(ES) backend on Mesa's llvmpipe, in WebGPU compatibility mode. Slow
   * (wasm is faster on a CPU): meant for testing the WebGPU path on machines without a GPU. Also enabled by the
   * environment variable `ROAD_WEBGPU=software`. Needs the Debian packages {@link SOFTWARE_WEBGPU_PACKAGES}.
   */
  software?: boolean;
  /**
   * Register road's WebGPU kernels (Conv2DBackpropFilter as a split-K GEMM) in place of the shipped ones
   * (default true; false keeps tfjs-backend-webgpu's own, e.g. to compare; `{ backpropInput: true }` also replaces
   * Conv2DBackpropInput, see `registerWebgpuKernels`).
   */
  kernels?: boolean | { backpropInput?: boolean };
  /**
   * Extra flags for Dawn's `create()` (the `webgpu` package), e.g. `enable-dawn-features=allow_unsafe_apis`, which
   * exposes `timestamp-query` on Vulkan so that `tf.profile` reports GPU times per kernel.
   */
  flags?: string[];
}

/** Debian packages the software WebGPU path needs (EGL + GLES dispatch, Mesa's EGL driver and llvmpipe). */
export const SOFTWARE_WEBGPU_PACKAGES: readonly string[] = Object.freeze([
  'libegl1',
  'libgles2',
  'libegl-mesa0',
  'libgl1-mesa-dri',
]);

/** True when `env.ROAD_WEBGPU` asks for the software adapter (`software`, case-insensitive). */
export function softwareWebgpuRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.ROAD_WEBGPU ?? '').trim().toLowerCase() === 'software';
}

/** Directories the dynamic loader searches on Linux (LD_LIBRARY_PATH first). */
export function libraryDirs(): string[] {
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  return [
    ...fromEnv,
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
    '/usr/local/lib',
  ];
}

/** Files of {@link SOFTWARE_WEBGPU_PACKAGES} Dawn's GL backend loads (package → a file it installs). */
const SOFTWARE_FILES: ReadonlyArray<[pkg: string, file: string]> = [
  ['libegl1', 'libEGL.so.1'],
  ['libgles2', 'libGLESv2.so.2'],
  ['libegl-mesa0', 'libEGL_mesa.so.0'],
  ['libgl1-mesa-dri', 'dri/swrast_dri.so'], // a plain string: no node:path call when the module loads (browser build)
];

/**
 * The Debian packages of the software WebGPU path whose library is not found in the usual library
 * directories ([] when all are there, or when not on Linux: the check is Linux-only).
 */
export function missingSoftwareWebgpuPackages(): string[] {
  if (process.platform !== 'linux') return [];
  const dirs = libraryDirs();
  return SOFTWARE_FILES.filter(([, file]) => !dirs.some((d) => existsSync(join(d, file)))).map(([pkg]) => pkg);
}

/** The parts of Dawn's `GPUAdapter` road uses. */
export interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, unknown>;
  requestDevice(descriptor?: { requiredFeatures?: unknown; requiredLimits?: Record<string, number> }): Promise<unknown>;
}
/** The parts of Dawn's `GPU` (navigator.gpu) road uses. */
export interface DawnGpu {
  requestAdapter(options?: { powerPreference?: string; featureLevel?: string }): Promise<DawnAdapter | null>;
}
/** The `webgpu` package's exports. */
export interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}

/** Describes a WebGPU adapter in one line. */
export function describeAdapter(adapter: Pick<DawnAdapter, 'info'>): string {
  const i = adapter.info ?? {};
  return (
    [i.vendor, i.architecture, i.device, i.description].filter((s) => s != null && s !== '').join(' ') ||
    'unnamed adapter'
  );
}

/** True for llvmpipe, lavapipe, SwiftShader and adapters that say they are a fallback. */
export function isSoftwareAdapter(adapter: Pick<DawnAdapter, 'info' | 'isFallbackAdapter'>): boolean {
  return (
    adapter.info?.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(describeAdapter(adapter))
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Every numeric limit of `adapter` (compatibility-mode devices get lower defaults unless asked for more). */
export function adapterLimits(adapter: Pick<DawnAdapter, 'limits'>): Record<string, number> {
  const out: Record<string, number> = {};
  // The limits object is a native one with getters on its prototype: walk it with for…in.
  for (const k in adapter.limits) {
    const v = (adapter.limits as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

/**
 * Makes `adapter.requestDevice` ask for every limit the adapter has (on top of what the caller asks):
 * tfjs-backend-webgpu asks only for a few, and compatibility mode's defaults are lower (e.g. storage
 * buffers per shader stage). Returns the same adapter object.
 */
export function requestFullLimits<A extends DawnAdapter>(adapter: A): A {
  const original = adapter.requestDevice;
  const full = adapterLimits(adapter);
  adapter.requestDevice = function requestDeviceWithAdapterLimits(descriptor = {}) {
    return original.call(this, { ...descriptor, requiredLimits: { ...full, ...(descriptor.requiredLimits ?? {}) } });
  };
  return adapter;
}

/** A `navigator.gpu` whose requestAdapter always asks `gpu` for a compatibility-mode adapter with full limits. */
export function compatibilityGpu(gpu: DawnGpu): DawnGpu {
  return {
    async requestAdapter(options = {}) {
      const adapter = await gpu.requestAdapter({ ...options, featureLevel: 'compatibility' });
      return adapter == null ? null : requestFullLimits(adapter);
    },
    // tfjs-backend-webgpu only calls requestAdapter; keep the rest of the GPU interface reachable.
    ...(Object.fromEntries(
      ['getPreferredCanvasFormat', 'wgslLanguageFeatures']
        .filter((k) => k in (gpu as object))
        .map((k) => {
          const v = (gpu as unknown as Record<string, unknown>)[k];
          return [k, typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(gpu) : v];
        }),
    ) as object),
  };
}

/** A Dawn GPU instance and the adapter it gave. */
export interface DawnChoice {
  /** What to install as `navigator.gpu`. */
  gpu: DawnGpu;
  adapter: DawnAdapter;
  /** Dawn's backend flag used (`[]` for the default, e.g. `backend=opengl`). */
  flags: string[];
}

/**
 * The hardware adapter: Dawn's default backend (Vulkan on Linux), high-performance preference.
 * Null when Dawn finds none.
 */
export async function hardwareAdapter(dawn: DawnModule, flags: string[] = []): Promise<DawnChoice | null> {
  const gpu = dawn.create([...flags]);
  const adapter = await withTimeout(
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
    30_000,
    'navigator.gpu.requestAdapter()',
  );
  return adapter == null ? null : { gpu, adapter, flags: [...flags] };
}

/**
 * The software adapter: Dawn's OpenGL backend (then OpenGL ES) through EGL on Mesa (llvmpipe when there
 * is no GPU), compatibility feature level, device with the adapter's full limits. Sets
 * `EGL_PLATFORM=surfaceless` (and `XDG_RUNTIME_DIR`) in the process environment when unset: Mesa's EGL
 * reads them when Dawn first initialises EGL, and without a display it needs the surfaceless platform.
 * Throws with what was tried when no adapter comes back.
 */
export async function softwareAdapter(dawn: DawnModule, extraFlags: string[] = []): Promise<DawnChoice> {
  if (process.env.EGL_PLATFORM == null || process.env.EGL_PLATFORM === '') process.env.EGL_PLATFORM = 'surfaceless';
  if (process.env.XDG_RUNTIME_DIR == null || process.env.XDG_RUNTIME_DIR === '') process.env.XDG_RUNTIME_DIR = tmpdir();
  const tried: string[] = [];
  for (const flag of ['backend=opengl', 'backend=opengles']) {
    const raw = dawn.create([flag, ...extraFlags]);
    const gpu = compatibilityGpu(raw);
    let adapter: DawnAdapter | null;
    try {
      adapter = await withTimeout(gpu.requestAdapter({}), 30_000, `requestAdapter() (${flag})`);
    } catch (e) {
      tried.push(`${flag}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (adapter != null) return { gpu, adapter, flags: [flag, ...extraFlags] };
    tried.push(`${flag}: requestAdapter() returned null`);
  }
  const missing = missingSoftwareWebgpuPackages();
  throw new Error(
    `no software WebGPU adapter (Dawn's OpenGL backend on Mesa, EGL_PLATFORM=${process.env.EGL_PLATFORM}): ${tried.join('; ')}` +
      (missing.length > 0
        ? ` — missing Debian packages: ${missing.join(' ')} (apt-get install ${SOFTWARE_WEBGPU_PACKAGES.join(' ')})`
        : ''),
  );
}
