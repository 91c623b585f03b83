import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public API', () => {
  it('exports the documented names', () => {
    for (const name of [
      'createSegmentationNet',
      'loadSegmentationNet',
      'createBackbone',
      'copyBackboneWeights',
      'registerSegmentationNet',
      'listSegmentationNets',
      'getSegmentationNetFactory',
      'importKerasWeights',
      'countFlops',
      'AtrousConv2D',
      'atrousConv2d',
      'MdaMultiply',
      'UnfoldAttentionMaps',
      'attachHydraPlus',
      'resizeBilinear',
      'kerasCaffePreprocess',
      'registerBackboneLayers',
      'nodeFileHandler',
      'NetBuilder',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('registerBackboneLayers is idempotent and registers the three custom layer classes', () => {
    api.registerBackboneLayers();
    api.registerBackboneLayers();
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.AtrousConv2D?.[0]).toBe(api.AtrousConv2D);
    expect(map.HydraPlusMdaMultiply?.[0]).toBe(api.MdaMultiply);
    expect(map.HydraPlusUnfoldMaps?.[0]).toBe(api.UnfoldAttentionMaps);
  });
});
