import { PadV2, Reshape, type TensorInfo } from '@tensorflow/tfjs-core';
import type { RunKernel } from './call-kernel.js';

/**
 * Zero insertion ("dilation") of a NHWC tensor by the strides `[sh, sw]`:
 * `out[n, i·sh, j·sw, c] = x[n, i, j, c]`, every other entry 0; shape `[n, h·sh, w·sw, c]`
 * (the last `sh − 1` rows and `sw − 1` columns are zeros too).
 *
 * Built from one PadV2 on a rank-6 view `[n, h, 1, w, 1, c]` padded to `[n, h, sh, w, sw, c]`.
 */
export function zeroInsert(run: RunKernel, x: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, h, w, c] = x.shape;
  const x6 = run(Reshape, { x }, { shape: [n, h, 1, w, 1, c] });
  const padded = run(
    PadV2,
    { x: x6 },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return run(Reshape, { x: padded }, { shape: [n, h * sh, w * sw, c] });
}
