import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from './confusion-matrix.js';
import { formatIoUTable } from './format-table.js';
import { MIOU13_CLASSES, MIOU16_CLASSES, MIOU19_CLASSES, miouOver } from './subsets.js';

describe('class subsets', () => {
  it('MIOU16 = 19 minus terrain(9), truck(14), train(16); MIOU13 = that minus wall(3), fence(4), pole(5)', () => {
    expect(MIOU19_CLASSES).toHaveLength(19);
    expect(MIOU16_CLASSES).toHaveLength(16);
    expect(MIOU13_CLASSES).toHaveLength(13);
    expect(MIOU19_CLASSES.filter((c) => !MIOU16_CLASSES.includes(c))).toEqual([9, 14, 16]);
    expect(MIOU16_CLASSES.filter((c) => !MIOU13_CLASSES.includes(c))).toEqual([3, 4, 5]);
  });

  it('miouOver averages the chosen classes and skips NaN', () => {
    // iou_c = c / 100 for c = 0..18, class 0 NaN.
    const iou = Array.from({ length: 19 }, (_, c) => (c === 0 ? Number.NaN : c / 100));
    // mIoU13 classes without 0: 1 2 6 7 8 10 11 12 13 15 17 18 → sum 120 over 12 classes → 0.10
    expect(miouOver(iou, MIOU13_CLASSES)).toBeCloseTo(120 / 100 / 12, 12);
    // mIoU16 without 0: above + 3 4 5 → sum 132 over 15 → 0.088
    expect(miouOver({ iou }, MIOU16_CLASSES)).toBeCloseTo(132 / 100 / 15, 12);
    expect(Number.isNaN(miouOver(iou, [0]))).toBe(true);
    expect(() => miouOver(iou, [19])).toThrow('class index 19');
  });
});

describe('formatIoUTable', () => {
  it('prints per-class rows in percent, NaN as n/a, and subset means', () => {
    // label: 0 0 1 1 ; pred: 0 1 1 1 (3 classes, class 2 absent)
    // IoU0 = 1/(2+1-1) = 1/2, IoU1 = 2/(2+3-2) = 2/3, IoU2 NaN; mIoU = 7/12 = 58.3%
    // subset {0,2}: 50.0; accuracy 1/2, 1, NaN
    const r = new ConfusionMatrix(3).update(Uint8Array.from([0, 1, 1, 1]), Uint8Array.from([0, 0, 1, 1])).compute();
    const table = formatIoUTable(r, ['road', 'car', 'sky'], { subsets: { first_last: [0, 2] } });
    expect(table.split('\n')).toEqual([
      '| id | class | IoU | Acc |',
      '|---:|:---|---:|---:|',
      '| 0 | road | 50.0 | 50.0 |',
      '| 1 | car | 66.7 | 100.0 |',
      '| 2 | sky | n/a | n/a |',
      '| | **mIoU (3)** | **58.3** | 75.0 |',
      '| | **first_last** | **50.0** | 50.0 |',
      '| | pixel accuracy | 75.0 | |',
      '',
    ]);
    expect(() => formatIoUTable(r, ['road'])).toThrow('1 class names for 3 classes');
  });
});
