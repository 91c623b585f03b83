import { describe, expect, it } from 'vitest';
import * as road from './index.js';
import * as testing from './testing.js';

// The public surface is part of the contract: a name added here is an API change (and a changeset).
describe('@road/backend entry points', () => {
  it('the main entry exports exactly the engine, registration and training API', () => {
    expect(Object.keys(road).sort()).toEqual([
      'BACKEND_ORDER',
      'FusedAdamOptimizer',
      'SOFTWARE_WEBGPU_PACKAGES',
      'createFusedAdam',
      'currentBackendInfo',
      'describeAdapter',
      'engineLine',
      'ensureGradients',
      'fusedSoftmaxCrossEntropyIgnore',
      'howToGet',
      'initBackend',
      'loadRoadNative',
      'lowMemoryVariableGrads',
      'missingSoftwareWebgpuPackages',
      'nativeModuleEntry',
      'registerFusedAdamKernel',
      'registerNativeKernels',
      'registerSoftmaxCrossEntropyKernels',
      'registerTrainingGradients',
      'registerTrainingKernels',
      'registerWebgpuKernels',
      'runSelfCheck',
      'shippedKernel',
      'shippedWebgpuKernel',
      'shortReason',
      'softmaxCrossEntropyIgnore',
      'tfjsCoreCopies',
      'trainingKernelNames',
      'unregisterNativeKernels',
      'unregisterTrainingGradients',
      'unregisterTrainingKernels',
      'unregisterWebgpuKernels',
    ]);
  });

  it('fixtures and kernel internals are only in the testing entry', () => {
    for (const name of ['createTinySegNet', 'toySegmentationBatch', 'conv2dBackpropInputAsConv', 'SOFTMAX_CE_KERNEL']) {
      expect(name in road, name).toBe(false);
      expect(name in testing, name).toBe(true);
    }
  });
});
