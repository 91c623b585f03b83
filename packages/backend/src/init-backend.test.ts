import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { BACKEND_ORDER, type BackendName, INSTALL_HINT } from './loaders.js';
import { missingSoftwareWebgpuPackages } from './webgpu/dawn.js';

const require = createRequire(import.meta.url);

afterEach(async () => {
  await tf.setBackend('cpu');
});

const failing = (reason: string) => async () => {
  throw new Error(reason);
};

/** Is the native addon of a tfjs-node package where its index.js looks for it? (checked independently of road) */
function bindingPresent(pkg: string): boolean | 'not installed' {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return 'not installed';
  }
  const lib = join(dir, 'lib');
  if (!existsSync(lib)) return false;
  return ['3', '4', '5', '6', '7', '8'].some((v) => existsSync(join(lib, `napi-v${v}`, 'tfjs_binding.node')));
}

function vulkanLoaderPresent(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

describe('initBackend: order and fallback', () => {
  it('tries tensorflow-gpu → tensorflow → webgpu → wasm → cpu and reports each skip with its loader error', async () => {
    const tried: BackendName[] = [];
    const lines: string[] = [];
    const track = (name: BackendName, reason: string) => async () => {
      tried.push(name);
      throw new Error(reason);
    };
    const info = await initBackend({
      log: (l) => lines.push(l),
      loaders: {
        'tensorflow-gpu': track('tensorflow-gpu', 'no CUDA device (test)'),
        tensorflow: track('tensorflow', 'tfjs_binding.node missing (test)'),
        webgpu: track('webgpu', 'adapter refused (test)'),
        wasm: track('wasm', 'wasm\nfailed (test)'),
      },
    });
    expect(tried).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']);
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.skipped).toEqual([
      { name: 'tensorflow-gpu', reason: 'no CUDA device (test)' },
      { name: 'tensorflow', reason: 'tfjs_binding.node missing (test)' },
      { name: 'webgpu', reason: 'adapter refused (test)' },
      { name: 'wasm', reason: 'wasm failed (test)' },
    ]);
    expect(lines).toHaveLength(5);
    expect(lines[3]).toBe('backend wasm: skipped — wasm failed (test)');
    expect(lines[4]).toMatch(/^backend cpu: in use/);
  });

  it('stops at the first loader that works and does not try the rest', async () => {
    let cpuTried = false;
    const info = await initBackend({
      prefer: ['webgpu', 'wasm', 'cpu'],
      loaders: {
        webgpu: failing('no adapter (test)'),
        cpu: async () => {
          cpuTried = true;
        },
      },
    });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped).toEqual([{ name: 'webgpu', reason: 'no adapter (test)' }]);
    expect(cpuTried).toBe(false);
    expect(info.kernels?.backendName).toBe('wasm');
  });

  it("registers road's gradients after the backend loaded, even when loading re-registered tfjs's", async () => {
    const tfjsConv = tf.getGradient('Conv2D');
    const info = await initBackend({
      prefer: 'cpu',
      loaders: {
        // what loading tfjs-node does: it pulls in '@tensorflow/tfjs', which registers every tfjs gradient again
        cpu: async () => {
          if (tfjsConv != null)
            tf.registerGradient({ kernelName: 'Conv2D', inputsToSave: ['x', 'filter'], gradFunc: tfjsConv.gradFunc });
          expect(Object.getOwnPropertySymbols(tf.getGradient('Conv2D'))).toEqual([]);
          await tf.setBackend('cpu');
        },
      },
    });
    expect(info.gradients).toEqual(['Conv2D', 'FusedBatchNorm', 'Relu']);
    expect(Object.getOwnPropertySymbols(tf.getGradient('Conv2D'))).toContain(
      Symbol.for('@road/backend:conv2d-gradient-dilations'),
    );
  });

  it('follows the order given in prefer', async () => {
    const info = await initBackend({ prefer: ['cpu', 'wasm'] });
    expect(info.name).toBe('cpu');
    expect(info.skipped).toEqual([]);
  });

  it('naming one backend that cannot load throws with its reason and keeps the previous backend', async () => {
    await tf.setBackend('cpu');
    await expect(
      initBackend({ prefer: 'webgpu', loaders: { webgpu: failing('adapter refused (test)') } }),
    ).rejects.toThrow("@road/backend: backend 'webgpu' cannot be used: adapter refused (test)");
    expect(tf.getBackend()).toBe('cpu');
  });

  it('a list where every backend fails throws with every reason', async () => {
    await expect(
      initBackend({ prefer: ['webgpu', 'wasm'], loaders: { webgpu: failing('A'), wasm: failing('B') } }),
    ).rejects.toThrow('none of the backends [webgpu, wasm] can be used — webgpu: A; wasm: B');
  });

  it('rejects unknown backend names and empty lists', async () => {
    await expect(initBackend({ prefer: 'webgl' as BackendName })).rejects.toThrow(
      "unknown backend 'webgl'; expected one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu",
    );
    await expect(initBackend({ prefer: [] })).rejects.toThrow('prefer is an empty list');
    await expect(initBackend({ loaders: { gpu: failing('x') } as never })).rejects.toThrow(
      "loaders has unknown backend 'gpu'",
    );
  });

  it('default order is exactly tensorflow-gpu, tensorflow, webgpu, wasm, cpu', () => {
    expect(BACKEND_ORDER).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
  });
});

describe('initBackend with the real loaders on this machine', () => {
  it('skips the faster backends that cannot load, each with the reason the machine gives', async () => {
    const info = await initBackend();
    const order = [...BACKEND_ORDER];
    // Everything before the chosen backend was skipped, in order; nothing after it was tried.
    expect(info.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(info.name)));
    for (const s of info.skipped) expect(s.reason.length).toBeGreaterThan(10);
    expect(info.tfjsCore).toEqual({ version: tf.version_core, copies: 1 });

    const byName = Object.fromEntries(info.skipped.map((s) => [s.name, s.reason]));
    for (const [name, pkg] of [
      ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
      ['tensorflow', '@tensorflow/tfjs-node'],
    ] as const) {
      const present = bindingPresent(pkg);
      if (present === 'not installed') expect(byName[name]).toBe(`${pkg} is not installed${INSTALL_HINT[pkg]}`);
      else if (present === false) {
        // installed without its native addon (its install script could not download libtensorflow)
        expect(byName[name]).toMatch(
          new RegExp(
            `^require\\('${pkg}'\\) failed: The Node.js native addon module \\(tfjs_binding.node\\) can not be found`,
          ),
        );
      }
    }
    if (byName.webgpu != null && !vulkanLoaderPresent()) {
      // No Vulkan loader: no GPU adapter is possible, and Dawn is not even loaded (it would print warnings of its own).
      expect(byName.webgpu).toMatch(/^not probed: no WebGPU GPU adapter is possible without libvulkan\.so\.1/);
      if (missingSoftwareWebgpuPackages().length === 0) expect(byName.webgpu).toMatch(/ROAD_WEBGPU=software opts in/);
    }
  });

  it('a failed tfjs-node load leaves no half-registered tensorflow kernels behind', async () => {
    await initBackend();
    if (tf.findBackendFactory('tensorflow') == null) {
      expect(tf.getKernelsForBackend('tensorflow')).toEqual([]);
    }
  });

  it('naming tensorflow-gpu alone on a machine without it throws the require error', async () => {
    if (bindingPresent('@tensorflow/tfjs-node-gpu') === true) return;
    await expect(initBackend({ prefer: 'tensorflow-gpu' })).rejects.toThrow(
      /backend 'tensorflow-gpu' cannot be used: .*tfjs-node-gpu/,
    );
  });

  it('naming webgpu alone on Linux without the Vulkan loader throws that reason without asking Dawn', async () => {
    if (process.platform !== 'linux' || vulkanLoaderPresent()) return;
    await expect(initBackend({ prefer: 'webgpu' })).rejects.toThrow(
      /backend 'webgpu' cannot be used: no WebGPU GPU adapter: libvulkan\.so\.1, the Vulkan loader Dawn needs on Linux, is not installed/,
    );
  });

  it('is idempotent: a second call returns the same backend and registers nothing twice', async () => {
    const a = await initBackend({ prefer: 'wasm' });
    const b = await initBackend({ prefer: 'wasm' });
    expect(a.name).toBe('wasm');
    expect(b.name).toBe('wasm');
    expect(b.kernels).toEqual({ backendName: 'wasm', added: [], replaced: [] });
  });
});
