import type { IoUResult } from './confusion-matrix.js';
import { miouOver } from './subsets.js';

export interface FormatIoUTableOptions {
  /** Extra mean rows, e.g. `{ mIoU16: MIOU16_CLASSES, mIoU13: MIOU13_CLASSES }`. */
  subsets?: Record<string, readonly number[]>;
  /** Digits after the decimal point (scores are printed in percent). Default 1. */
  digits?: number;
}

function pct(v: number, digits: number): string {
  return Number.isNaN(v) ? 'n/a' : (v * 100).toFixed(digits);
}

/**
 * Markdown table of per-class IoU and accuracy (in percent, NaN as `n/a`), followed by the mIoU over all classes,
 * one row per requested subset, and the pixel accuracy.
 *
 * @param result output of {@link ConfusionMatrix.compute}.
 * @param classNames one name per class (e.g. `CITYSCAPES_CLASSES` from @road/datasets).
 */
export function formatIoUTable(
  result: IoUResult,
  classNames: readonly string[],
  options: FormatIoUTableOptions = {},
): string {
  const digits = options.digits ?? 1;
  if (classNames.length !== result.iou.length) {
    throw new RangeError(
      `formatIoUTable: ${classNames.length} class names for ${result.iou.length} classes; they must match`,
    );
  }
  const lines = ['| id | class | IoU | Acc |', '|---:|:---|---:|---:|'];
  for (let c = 0; c < result.iou.length; c++) {
    lines.push(`| ${c} | ${classNames[c]} | ${pct(result.iou[c], digits)} | ${pct(result.accuracy[c], digits)} |`);
  }
  lines.push(
    `| | **mIoU (${result.iou.length})** | **${pct(result.miou, digits)}** | ${pct(result.meanAccuracy, digits)} |`,
  );
  for (const [name, indices] of Object.entries(options.subsets ?? {})) {
    lines.push(
      `| | **${name}** | **${pct(miouOver(result.iou, indices), digits)}** | ${pct(miouOver(result.accuracy, indices), digits)} |`,
    );
  }
  lines.push(`| | pixel accuracy | ${pct(result.pixelAccuracy, digits)} | |`);
  return `${lines.join('\n')}\n`;
}
