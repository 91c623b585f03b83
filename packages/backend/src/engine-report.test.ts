import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { engineLine, howToGet, shortReason, webgpuUnavailableReason } from './engine-report.js';

// Reasons as initBackend reports them on machines we have seen (the tfjs-node one is verbatim from a clean clone).
const BINDING =
  "require('@tensorflow/tfjs-node') failed: The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. Please run command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source' to rebuild the native addon module. If you have problem with building the addon module, please check https://github.com/tensorflow/tfjs/blob/master/tfjs-node/WINDOWS_TROUBLESHOOTING.md or file an issue.";

describe('shortReason', () => {
  it('turns the long loader errors into a few words', () => {
    expect(shortReason('tensorflow', BINDING)).toBe('native addon missing');
    expect(shortReason('tensorflow-gpu', '@tensorflow/tfjs-node-gpu is not installed')).toBe('not installed');
    expect(
      shortReason(
        'tensorflow-gpu',
        '@tensorflow/tfjs-node-gpu loaded, but TensorFlow found no CUDA GPU (isUsingGpuDevice() is false)',
      ),
    ).toBe('no CUDA GPU');
    expect(
      shortReason(
        'tensorflow-gpu',
        "require('@tensorflow/tfjs-node-gpu') failed: libcudart.so.11.0: cannot open shared object file",
      ),
    ).toBe('CUDA libraries not found');
    expect(shortReason('webgpu', 'not probed: no WebGPU GPU adapter is possible without libvulkan.so.1, ...')).toBe(
      'no GPU adapter',
    );
    expect(shortReason('webgpu', 'no WebGPU adapter: requestAdapter() returned null')).toBe('no GPU adapter');
    expect(shortReason('webgpu', 'no WebGPU GPU adapter; only a software adapter (llvmpipe); refused')).toBe(
      'software adapter only',
    );
    expect(
      shortReason(
        'webgpu',
        "cannot load the 'webgpu' package (Dawn for Node): Cannot find package 'webgpu' imported from /x",
      ),
    ).toBe('not installed');
  });

  it('keeps an unknown reason to its first clause, at most 60 characters', () => {
    expect(shortReason('wasm', 'wasm init failed: out of memory')).toBe('wasm init failed');
    const long = shortReason('cpu', 'x'.repeat(200));
    expect(long).toHaveLength(60);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('engineLine', () => {
  it('says the engine, its native kernels and each skip in one line', () => {
    const line = engineLine({
      name: 'wasm',
      native: { loaded: true, reason: 'loaded', threads: 2, isa: 'avx2-fma' },
      skipped: [
        { name: 'tensorflow-gpu', reason: '@tensorflow/tfjs-node-gpu is not installed' },
        { name: 'tensorflow', reason: BINDING },
        { name: 'webgpu', reason: 'not probed: no WebGPU GPU adapter is possible without libvulkan.so.1' },
      ],
    });
    expect(line).toBe(
      'backend: wasm + native kernels (2 threads, avx2-fma); skipped tensorflow-gpu (not installed), tensorflow (native addon missing), webgpu (no GPU adapter)',
    );
    expect(line).not.toContain('\n');
    const same = engineLine({
      name: 'cpu',
      skipped: [
        { name: 'tensorflow-gpu', reason: BINDING.replace(/tfjs-node/g, 'tfjs-node-gpu') },
        { name: 'tensorflow', reason: BINDING },
      ],
    });
    expect(same).toBe('backend: cpu; skipped tensorflow-gpu, tensorflow (native addon missing)');
  });

  it('says why the native kernels are off, and nothing about skips when there are none', () => {
    expect(
      engineLine({
        name: 'wasm',
        skipped: [],
        native: { loaded: false, reason: 'disabled by ROAD_NATIVE=0', threads: null, isa: null },
      }),
    ).toBe('backend: wasm (native kernels off: disabled)');
    expect(engineLine({ name: 'tensorflow-gpu', skipped: [] })).toBe('backend: tensorflow-gpu');
  });
});

describe('howToGet', () => {
  it('names the npm package at the tfjs-core version for each TensorFlow backend', () => {
    expect(howToGet('tensorflow-gpu')).toContain(`npm install @tensorflow/tfjs-node-gpu@${tf.version_core}`);
    expect(howToGet('tensorflow-gpu')).toMatch(/CUDA 11\.2 and cuDNN 8 .*not verified/);
    expect(howToGet('tensorflow')).toContain(`npm install @tensorflow/tfjs-node@${tf.version_core}`);
    expect(howToGet('tensorflow', BINDING)).toMatch(
      /^@tensorflow\/tfjs-node is installed without its addon .*npm rebuild @tensorflow\/tfjs-node /,
    );
    expect(howToGet('webgpu')).toMatch(/npm install webgpu@\d+\.\d+\.\d+ @tensorflow\/tfjs-backend-webgpu@/);
  });
});

describe('webgpuUnavailableReason', () => {
  const saved = process.env.LD_LIBRARY_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
    else process.env.LD_LIBRARY_PATH = saved;
  });

  /** A fake library folder with libvulkan.so.1 and a data folder with the given Vulkan driver manifests. */
  function fakeVulkan(manifests: string[]): NodeJS.ProcessEnv {
    const root = mkdtempSync(join(tmpdir(), 'road-vk-'));
    mkdirSync(join(root, 'lib'));
    writeFileSync(join(root, 'lib', 'libvulkan.so.1'), '');
    mkdirSync(join(root, 'share', 'vulkan', 'icd.d'), { recursive: true });
    for (const m of manifests) writeFileSync(join(root, 'share', 'vulkan', 'icd.d', m), '{}');
    process.env.LD_LIBRARY_PATH = join(root, 'lib');
    return { XDG_DATA_DIRS: join(root, 'share'), XDG_CONFIG_DIRS: join(root, 'etc') };
  }

  it('asks Dawn off Linux, and when told to (ROAD_WEBGPU=probe or software)', () => {
    expect(webgpuUnavailableReason({}, 'darwin')).toBeNull();
    expect(webgpuUnavailableReason({}, 'win32')).toBeNull();
    expect(webgpuUnavailableReason({ ROAD_WEBGPU: 'probe' }, 'linux')).toBeNull();
    expect(webgpuUnavailableReason({ ROAD_WEBGPU: 'software' }, 'linux')).toBeNull();
  });

  it('with a GPU Vulkan driver manifest, asks Dawn; with only software ones, does not', () => {
    expect(webgpuUnavailableReason(fakeVulkan(['nvidia_icd.json']), 'linux')).toBeNull();
    const env = fakeVulkan(['lvp_icd.x86_64.json']);
    expect(webgpuUnavailableReason(env, 'linux')).toMatch(
      /^not probed: .*without a Vulkan GPU driver .*only software renderers: lvp_icd\.x86_64\.json/,
    );
    expect(webgpuUnavailableReason({ ...env, VK_ICD_FILENAMES: '/opt/gpu_icd.json' }, 'linux')).toBeNull();
  });

  it('without the Vulkan loader, says so', () => {
    process.env.LD_LIBRARY_PATH = mkdtempSync(join(tmpdir(), 'road-novk-'));
    const system = [
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib/aarch64-linux-gnu',
      '/usr/lib64',
      '/usr/lib',
      '/lib/x86_64-linux-gnu',
      '/lib64',
      '/usr/local/lib',
    ];
    if (system.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return; // this machine has the loader
    expect(webgpuUnavailableReason({}, 'linux')).toMatch(
      /^not probed: no WebGPU GPU adapter is possible without libvulkan\.so\.1/,
    );
  });
});
