// What a user reads about the engine choice: one short reason per skipped backend, how to get each one, and the
// one-line summary the CLI prints. The long reasons stay in BackendInfo.skipped[].reason.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './loaders.js';
import { libraryDirs, missingSoftwareWebgpuPackages, softwareWebgpuRequested } from './webgpu/dawn.js';

/** A few words on why a backend was skipped, out of its full reason (the full one stays for `--verbose`/doctor). */
export function shortReason(name: BackendName, reason: string): string {
  if (
    / is not installed$|Cannot find (module|package) '(@tensorflow\/tfjs-node(-gpu)?|webgpu|@tensorflow\/tfjs-backend-webgpu)'/.test(
      reason,
    )
  ) {
    return 'not installed';
  }
  if (/tfjs_binding\.node\) can not be found/.test(reason)) return 'native addon missing';
  if (/lib(cudart|cudnn|cublas|cuda|cufft|curand|cusolver|cusparse)[\w.]*\.so/.test(reason))
    return 'CUDA libraries not found';
  if (/found no CUDA GPU/.test(reason)) return 'no CUDA GPU';
  if (/is the CPU package/.test(reason)) return 'only the CPU package loaded';
  if (/navigator\.gpu is missing/.test(reason)) return 'no WebGPU in this browser';
  if (/Node has no WebGL/.test(reason)) return 'browser only';
  if (/needs Node \(tfjs-node\)/.test(reason)) return 'Node only';
  if (name === 'webgpu') {
    if (/only a software (WebGPU )?adapter/.test(reason)) return 'software adapter only';
    if (/no WebGPU (GPU )?adapter|not probed/.test(reason)) return 'no GPU adapter';
    if (/cannot load the 'webgpu' package/.test(reason)) return 'Dawn failed to load';
  }
  const first = reason.split(/[:;(]/)[0].trim();
  return first.length <= 60 ? first : `${first.slice(0, 57)}...`;
}

/** Versions of the optional engine packages this @road/backend was built against (package.json), else tfjs-core's. */
function enginePackageVersions(): Record<string, string> {
  try {
    const pkg = createRequire(import.meta.url)('../package.json') as Record<string, Record<string, string> | undefined>;
    const out: Record<string, string> = {};
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies']) {
      for (const [k, v] of Object.entries(pkg[field] ?? {})) if (out[k] == null) out[k] = v.replace(/^[\^~]/, '');
    }
    return out;
  } catch {
    return {};
  }
}

/** `name@version` to install, the version being the one @road/backend declares (tfjs-core's for @tensorflow/*). */
function spec(name: string): string {
  const declared = enginePackageVersions()[name];
  const version =
    declared != null && /^\d/.test(declared) ? declared : name.startsWith('@tensorflow/') ? tf.version_core : null;
  return version == null ? name : `${name}@${version}`;
}

/** What the machine needs for a TensorFlow backend (beyond the npm package). */
const TENSORFLOW_NEEDS: Record<'tensorflow' | 'tensorflow-gpu', string> = {
  'tensorflow-gpu':
    'Needs Linux x64 and an NVIDIA GPU; the install script downloads libtensorflow 2.9.1 (GPU build) from ' +
    "storage.googleapis.com. tfjs-node's README (linked from the package's) lists CUDA 11.2 and cuDNN 8 for Linux GPU; " +
    'not verified by road.',
  tensorflow: 'The install script downloads libtensorflow 2.9.1 (CPU build) from storage.googleapis.com.',
};

/**
 * How to get each backend, in one or two sentences: the npm package(s) to add and what the machine needs. Given
 * the skip reason, it answers that case: a tfjs-node installed without its addon is rebuilt, not added.
 */
export function howToGet(name: BackendName, reason = ''): string {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
      const fix = /tfjs_binding\.node\) can not be found/.test(reason)
        ? `${pkg} is installed without its addon (its install script could not download it): with network access, npm rebuild ${pkg} (or pnpm rebuild ${pkg}).`
        : `npm install ${spec(pkg)}.`;
      return `${fix} ${TENSORFLOW_NEEDS[name]}`;
    }
    case 'webgpu':
      return (
        `npm install ${spec('webgpu')} ${spec('@tensorflow/tfjs-backend-webgpu')}, and a GPU driver Dawn can use ` +
        "(Linux: the Vulkan loader libvulkan1 and the GPU vendor's Vulkan driver). Without a GPU, ROAD_WEBGPU=software " +
        "opts in to Mesa's software renderer (slower than wasm; for testing)."
      );
    case 'webgl':
      return `In a browser with WebGL 2: npm install ${spec('@tensorflow/tfjs-backend-webgl')} and bundle it with the page.`;
    case 'wasm':
      return `npm install ${spec('@tensorflow/tfjs-backend-wasm')} (a dependency of @road/backend: normally present).`;
    case 'cpu':
      return `npm install ${spec('@tensorflow/tfjs-backend-cpu')} (a dependency of @road/backend: normally present).`;
  }
}

/** Vulkan driver manifests (ICDs) that name a software renderer: not a GPU. */
const SOFTWARE_ICD = /lvp|lavapipe|swiftshader|llvmpipe/i;

/** Folders the Vulkan loader reads driver manifests from on Linux. */
function icdDirs(env: NodeJS.ProcessEnv): string[] {
  const config = (env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':').filter(Boolean);
  const data = (env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').filter(Boolean);
  return [
    ...config.map((d) => join(d, 'vulkan', 'icd.d')),
    '/etc/vulkan/icd.d',
    ...(env.XDG_DATA_HOME ? [join(env.XDG_DATA_HOME, 'vulkan', 'icd.d')] : []),
    ...data.map((d) => join(d, 'vulkan', 'icd.d')),
  ];
}

function listJson(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

/**
 * Why Dawn cannot find a GPU adapter here, decided without loading Dawn (which prints its own warnings on the
 * process's stderr, out of reach of JavaScript), or null when a GPU adapter is possible and Dawn should be asked.
 * Only Linux is checked: no Vulkan loader (libvulkan.so.1), or no Vulkan driver manifest other than a software
 * renderer's, means no hardware adapter. `ROAD_WEBGPU=probe` (or `=software`) always asks Dawn; the
 * `VK_ICD_FILENAMES` / `VK_DRIVER_FILES` / `VK_ADD_DRIVER_FILES` variables count as a driver.
 */
export function webgpuUnavailableReason(
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
): string | null {
  const mode = (env.ROAD_WEBGPU ?? '').trim().toLowerCase();
  if (mode === 'probe' || softwareWebgpuRequested(env)) return null;
  if (platform !== 'linux') return null;
  const optIn =
    missingSoftwareWebgpuPackages().length === 0
      ? "; Mesa's software renderer is installed: ROAD_WEBGPU=software opts in to it (slower than wasm on a CPU)"
      : '';
  if (!libraryDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')))) {
    return `not probed: no WebGPU GPU adapter is possible without libvulkan.so.1, the Vulkan loader Dawn needs on Linux (apt-get install libvulkan1 and a GPU driver)${optIn}; ROAD_WEBGPU=probe asks Dawn anyway`;
  }
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return null;
  const manifests = [...new Set(icdDirs(env).flatMap(listJson))];
  if (manifests.some((f) => !SOFTWARE_ICD.test(f))) return null;
  const found = manifests.length > 0 ? `only software renderers: ${manifests.join(', ')}` : 'none';
  return `not probed: no WebGPU GPU adapter is possible without a Vulkan GPU driver (driver manifests in ${icdDirs(env)
    .filter((d, i, a) => a.indexOf(d) === i)
    .join(', ')}: ${found})${optIn}; ROAD_WEBGPU=probe asks Dawn anyway`;
}

/** The parts of a BackendInfo {@link engineLine} reads. */
export interface EngineSummaryInput {
  name: BackendName;
  skipped: { name: BackendName; reason: string }[];
  native?: { loaded: boolean; reason: string; threads: number | null; isa: string | null } | null;
}

/**
 * The one line that says which engine runs and what was skipped, e.g.
 * `backend: wasm + native kernels (2 threads, avx2-fma); skipped tensorflow-gpu (not installed), webgpu (no GPU adapter)`.
 */
export function engineLine(info: EngineSummaryInput): string {
  let head = `backend: ${info.name}`;
  if (info.name === 'wasm' && info.native != null) {
    head += info.native.loaded
      ? ` + native kernels (${info.native.threads} threads, ${info.native.isa})`
      : ` (native kernels off: ${shortNativeReason(info.native.reason)})`;
  }
  if (info.skipped.length === 0) return head;
  // Neighbours with the same short reason share it: "tensorflow-gpu, tensorflow (not installed)".
  const groups: { names: string[]; why: string }[] = [];
  for (const s of info.skipped) {
    const why = shortReason(s.name, s.reason);
    const last = groups[groups.length - 1];
    if (last != null && last.why === why) last.names.push(s.name);
    else groups.push({ names: [s.name], why });
  }
  return `${head}; skipped ${groups.map((g) => `${g.names.join(', ')} (${g.why})`).join(', ')}`;
}

function shortNativeReason(reason: string): string {
  if (/ROAD_NATIVE=0|native: false/.test(reason)) return 'disabled';
  if (/is missing/.test(reason)) return 'not built';
  if (/Cannot find module '@road\/native'|require\('@road\/native'\) failed: Cannot find/.test(reason))
    return 'not installed';
  if (/failed/.test(reason)) return 'failed to load';
  return reason.split(/[:;(]/)[0].trim().slice(0, 60);
}
