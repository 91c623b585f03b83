import { describe, expect, it } from 'vitest';
import {
  applyLabelLut,
  CITYSCAPES_CLASSES,
  CITYSCAPES_ID_TO_TRAIN_ID,
  CITYSCAPES_PALETTE,
  GTA5_ID_TO_TRAIN_ID,
  LUT_UNKNOWN,
  makeLabelLut,
  SYNTHIA_CLASSES,
  SYNTHIA_ID_TO_TRAIN_ID,
  trainIdLut,
  UnknownLabelIdError,
} from './label-maps.js';

describe('label maps', () => {
  it('Cityscapes ids -1..33 → 19 train ids, each train id exactly once, the rest 255', () => {
    const keys = Object.keys(CITYSCAPES_ID_TO_TRAIN_ID)
      .map(Number)
      .sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 35 }, (_, i) => i - 1));
    // Written out from cityscapesScripts labels.py (id: trainId) for the 19 evaluated classes.
    const evaluated: Record<number, number> = {
      7: 0,
      8: 1,
      11: 2,
      12: 3,
      13: 4,
      17: 5,
      19: 6,
      20: 7,
      21: 8,
      22: 9,
      23: 10,
      24: 11,
      25: 12,
      26: 13,
      27: 14,
      28: 15,
      31: 16,
      32: 17,
      33: 18,
    };
    for (const id of keys) expect([id, CITYSCAPES_ID_TO_TRAIN_ID[id]]).toEqual([id, evaluated[id] ?? 255]);
    expect(GTA5_ID_TO_TRAIN_ID).toBe(CITYSCAPES_ID_TO_TRAIN_ID);
  });

  it('SYNTHIA ids → Cityscapes train ids (AdaptSegNet / ADVENT / DACS mapping)', () => {
    // 3→road 4→sidewalk 2→building 21→wall 5→fence 7→pole 15→traffic light 9→traffic sign 6→vegetation
    // 1→sky 10→person 17→rider 8→car 19→bus 12→motorcycle 11→bicycle; 16/18/20 terrain/truck/train (absent in
    // SYNTHIA images); 0 void, 13 parking-slot, 14 road-work, 22 lanemarking ignored.
    expect(SYNTHIA_ID_TO_TRAIN_ID).toEqual({
      3: 0,
      4: 1,
      2: 2,
      21: 3,
      5: 4,
      7: 5,
      15: 6,
      9: 7,
      6: 8,
      1: 10,
      10: 11,
      17: 12,
      8: 13,
      19: 15,
      12: 17,
      11: 18,
      16: 9,
      18: 14,
      20: 16,
      0: 255,
      13: 255,
      14: 255,
      22: 255,
    });
    expect(SYNTHIA_CLASSES).toHaveLength(23);
    // Each mapped SYNTHIA class name matches the Cityscapes class it maps to (pedestrian = person).
    for (const [id, train] of Object.entries(SYNTHIA_ID_TO_TRAIN_ID)) {
      if (train === 255) continue;
      const name = SYNTHIA_CLASSES[Number(id)];
      expect([id, name === 'pedestrian' ? 'person' : name]).toEqual([id, CITYSCAPES_CLASSES[train]]);
    }
  });

  it('class names and palette', () => {
    expect(CITYSCAPES_CLASSES).toHaveLength(19);
    expect(CITYSCAPES_PALETTE).toHaveLength(19);
    expect(CITYSCAPES_PALETTE[0]).toEqual([128, 64, 128]); // road
    expect(CITYSCAPES_PALETTE[13]).toEqual([0, 0, 142]); // car
    expect(new Set(CITYSCAPES_PALETTE.map((c) => c.join())).size).toBe(19);
  });

  it('makeLabelLut: known ids mapped, -1 at its 8/16-bit wrap-arounds, unknown ids marked', () => {
    const lut = makeLabelLut(CITYSCAPES_ID_TO_TRAIN_ID);
    expect(lut).toHaveLength(65536);
    expect([lut[7], lut[26], lut[33], lut[0], lut[255], lut[65535]]).toEqual([0, 13, 18, 255, 255, 255]);
    expect([lut[34], lut[254], lut[256], lut[1000]]).toEqual([LUT_UNKNOWN, LUT_UNKNOWN, LUT_UNKNOWN, LUT_UNKNOWN]);
    // An explicit entry for 255 wins over the wrap-around of -1.
    expect(makeLabelLut({ [-1]: 255, 255: 3 })[255]).toBe(3);
    expect(() => makeLabelLut({ 1: 254 })).toThrow('train ids must be 0..253 or 255');
    expect(() => makeLabelLut({ 1: 300 })).toThrow('source id 1 maps to 300');
    const ids = trainIdLut(3);
    expect([ids[0], ids[2], ids[255], ids[3]]).toEqual([0, 2, 255, LUT_UNKNOWN]);
  });

  it('applyLabelLut maps 8- and 16-bit ids and names an unknown id and its pixel', () => {
    const lut = makeLabelLut(SYNTHIA_ID_TO_TRAIN_ID);
    expect(Array.from(applyLabelLut(Uint16Array.from([3, 1, 22, 8]), lut, 2))).toEqual([0, 10, 255, 13]);
    // 259 = 0x0103 would read as 3 (road) if only its low byte were used.
    const bad = Uint16Array.from([3, 1, 22, 259]);
    expect(() => applyLabelLut(bad, lut, 2)).toThrow('label id 259 at pixel (x 1, y 1) is not in the label map');
    expect(() => applyLabelLut(bad, lut, 2)).toThrow(UnknownLabelIdError);
    expect(Array.from(applyLabelLut(bad, lut, 2, 'ignore'))).toEqual([0, 10, 255, 255]);
  });
});
