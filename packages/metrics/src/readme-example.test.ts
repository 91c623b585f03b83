import { expect, it } from 'vitest';
// Same code as the README example, importing from the package entry.
import { ConfusionMatrix, formatIoUTable, MIOU16_CLASSES, miouOver } from './index.js';

it('README example runs and gives the values in its comments', () => {
  // Two 2×3 maps, 3 classes; 255 = ignore.
  const label = Uint8Array.from([0, 0, 1, 1, 2, 255]);
  const pred = Uint8Array.from([0, 1, 1, 1, 2, 0]);
  const cm = new ConfusionMatrix(3);
  cm.update(pred, label);
  const result = cm.compute();
  // IoU: road 1/2, sidewalk 2/3, building 1/1 → mIoU = 13/18
  expect(result.iou[0]).toBeCloseTo(1 / 2, 12);
  expect(result.iou[1]).toBeCloseTo(2 / 3, 12);
  expect(result.iou[2]).toBe(1);
  expect(result.miou).toBeCloseTo(13 / 18, 12);
  const table = formatIoUTable(result, ['road', 'sidewalk', 'building'], { subsets: { 'road+building': [0, 2] } });
  expect(table).toContain('| 1 | sidewalk | 66.7 | 100.0 |');
  expect(table).toContain('| | **road+building** | **75.0** |');
  expect(miouOver(result.iou, [0, 2])).toBe(0.75);
  expect(MIOU16_CLASSES).toHaveLength(16);
});
