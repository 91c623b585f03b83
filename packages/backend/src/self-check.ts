import * as tf from '@tensorflow/tfjs-core';
import { currentBackendInfo, initBackend } from './init-backend.js';
import type { BackendName } from './loaders.js';
import { softmaxCrossEntropyIgnore } from './softmax-cross-entropy.js';
import { createTinySegNet, toySegmentationBatch } from './tiny-seg-net.js';

/** Options of {@link runSelfCheck}. */
export interface SelfCheckOptions {
  /** Training steps to run (default 10). */
  steps?: number;
  /** Where the report lines go (default console.log). */
  log?: (line: string) => void;
  /**
   * Passed to initBackend. Default: the backend an earlier initBackend call chose, if the engine
   * still runs on it (so `road doctor --backend cpu` checks cpu), else the fastest that loads.
   */
  prefer?: BackendName | BackendName[];
  /** Passed to initBackend (tests). */
  loaders?: Partial<Record<BackendName, () => Promise<void>>>;
  /** false: no backend / skipped / kernel lines before the training steps (the caller printed its own). Default true. */
  header?: boolean;
}

/**
 * The engine self-check behind `road doctor` (and `pnpm demo` until the trainer lands): chooses the
 * backend with {@link initBackend} (or keeps the one an earlier call chose), prints it and every skipped backend with its reason, then trains
 * the 4-conv toy segmentation net (conv stride 2, ReLU, batch norm, bilinear upsampling, softmax
 * cross-entropy ignoring label 255) with Adam for `steps` steps on a fixed toy batch, printing the
 * loss of each step. Returns the losses (they fall when the engine can train). Leaves no tensors.
 */
export async function runSelfCheck(options: SelfCheckOptions = {}): Promise<number[]> {
  const steps = options.steps ?? 10;
  const log = options.log ?? ((line: string) => console.log(line));
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`runSelfCheck: steps must be a positive integer, got ${steps}`);

  const reuse = options.prefer == null && options.loaders == null ? currentBackendInfo() : null;
  const info = reuse ?? (await initBackend({ prefer: options.prefer, loaders: options.loaders }));
  if (options.header !== false) {
    log('road engine self-check');
    log(`backend: ${info.name} (tfjs-core ${info.tfjsCore.version}, tf.getBackend() = '${info.tfBackend}')`);
    for (const s of info.skipped) log(`  skipped ${s.name}: ${s.reason}`);
    if (info.kernels != null && info.kernels.added.length + info.kernels.replaced.length > 0) {
      log(
        `  training kernels added: ${info.kernels.added.join(', ') || '-'}; replaced: ${info.kernels.replaced.join(', ') || '-'}`,
      );
    }
  }

  const net = createTinySegNet({ seed: 11 });
  const { images, labels } = toySegmentationBatch({ seed: 12 });
  const optimizer = tf.train.adam(0.02);
  log(`training a 4-conv segmentation net on a ${images.shape.join('×')} toy batch for ${steps} steps (Adam, lr 0.02)`);
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const loss = optimizer.minimize(() => softmaxCrossEntropyIgnore(net.apply(images), labels), true) as tf.Scalar;
      const value = (await loss.data())[0];
      loss.dispose();
      losses.push(value);
      log(
        `  step ${String(i + 1).padStart(String(steps).length)}/${steps}  loss ${value.toFixed(4)}  (${(performance.now() - t0).toFixed(0)} ms)`,
      );
    }
  } finally {
    optimizer.dispose();
    net.dispose();
    tf.dispose([images, labels]);
  }
  const first = losses[0];
  const last = losses[losses.length - 1];
  if (steps > 1) {
    log(
      last < first
        ? `loss ${first.toFixed(4)} → ${last.toFixed(4)}: falling, the engine trains`
        : `loss ${first.toFixed(4)} → ${last.toFixed(4)}: NOT falling`,
    );
  }
  return losses;
}
