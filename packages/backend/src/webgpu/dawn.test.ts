// The Dawn glue without a GPU: fake GPU/adapter objects record what tfjs-backend-webgpu's calls turn into.
import { describe, expect, it } from 'vitest';
import {
  adapterLimits,
  compatibilityGpu,
  type DawnAdapter,
  type DawnGpu,
  describeAdapter,
  isSoftwareAdapter,
  requestFullLimits,
  softwareWebgpuRequested,
} from './dawn.js';

/** An adapter whose limits live on its prototype (as Dawn's native objects' getters do). */
function fakeAdapter(device = 'llvmpipe (LLVM 15.0.6, 256 bits)', calls: unknown[] = []): DawnAdapter {
  const limits = Object.create({
    maxStorageBuffersPerShaderStage: 16,
    maxComputeWorkgroupStorageSize: 32768,
    label: 'not a number',
  });
  return {
    info: { vendor: 'mesa', device, description: 'OpenGL 4.5' },
    features: { has: () => false },
    limits,
    async requestDevice(descriptor) {
      calls.push(descriptor);
      return { ok: true };
    },
  };
}

describe('software WebGPU glue', () => {
  it('ROAD_WEBGPU=software (any case, spaces) opts in; anything else does not', () => {
    expect(softwareWebgpuRequested({ ROAD_WEBGPU: 'software' })).toBe(true);
    expect(softwareWebgpuRequested({ ROAD_WEBGPU: ' Software ' })).toBe(true);
    expect(softwareWebgpuRequested({ ROAD_WEBGPU: '1' })).toBe(false);
    expect(softwareWebgpuRequested({})).toBe(false);
  });

  it('adapterLimits keeps the numeric limits, including inherited getters', () => {
    expect(adapterLimits(fakeAdapter())).toEqual({
      maxStorageBuffersPerShaderStage: 16,
      maxComputeWorkgroupStorageSize: 32768,
    });
  });

  it("requestFullLimits asks for every adapter limit, the caller's own values winning", async () => {
    const calls: unknown[] = [];
    const a = requestFullLimits(fakeAdapter(undefined, calls));
    await a.requestDevice({
      requiredFeatures: ['timestamp-query'],
      requiredLimits: { maxComputeWorkgroupStorageSize: 16384 },
    });
    expect(calls).toEqual([
      {
        requiredFeatures: ['timestamp-query'],
        requiredLimits: { maxStorageBuffersPerShaderStage: 16, maxComputeWorkgroupStorageSize: 16384 },
      },
    ]);
  });

  it('compatibilityGpu adds featureLevel "compatibility" to every requestAdapter call and wraps the adapter', async () => {
    const seen: unknown[] = [];
    const deviceCalls: unknown[] = [];
    const raw: DawnGpu = {
      async requestAdapter(options) {
        seen.push(options);
        return fakeAdapter(undefined, deviceCalls);
      },
    };
    const gpu = compatibilityGpu(raw);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    expect(seen).toEqual([{ powerPreference: 'high-performance', featureLevel: 'compatibility' }]);
    await adapter?.requestDevice({});
    expect(deviceCalls).toEqual([
      { requiredLimits: { maxStorageBuffersPerShaderStage: 16, maxComputeWorkgroupStorageSize: 32768 } },
    ]);
  });

  it('compatibilityGpu returns null when Dawn has no adapter', async () => {
    const gpu = compatibilityGpu({ requestAdapter: async () => null });
    expect(await gpu.requestAdapter()).toBeNull();
  });

  it('tells software adapters (llvmpipe, lavapipe, SwiftShader, fallback) from GPUs', () => {
    expect(isSoftwareAdapter(fakeAdapter())).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', device: 'lavapipe' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { description: 'SwiftShader Device (Subzero)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', isFallbackAdapter: true } })).toBe(true);
    expect(
      isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3' } }),
    ).toBe(false);
    expect(
      describeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100' } }),
    ).toBe('nvidia hopper NVIDIA H100');
    expect(describeAdapter({})).toBe('unnamed adapter');
  });
});
