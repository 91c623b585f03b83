import { createRequire } from 'node:module';

/** Writes scalars as TensorBoard event files (only through tfjs-node's summary writer). */
export interface ScalarWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

/**
 * A TensorBoard writer when the tensorflow backend (tfjs-node / tfjs-node-gpu) is the one loaded, else null with
 * the reason (logged by the trainer). Event files go to `logdir`.
 */
export function tensorboardWriter(
  backendName: string,
  logdir: string,
): { writer: ScalarWriter | null; reason: string } {
  if (backendName !== 'tensorflow' && backendName !== 'tensorflow-gpu') {
    return {
      writer: null,
      reason: `TensorBoard event files skipped: they need the tensorflow backend (tfjs-node), the backend is ${backendName}`,
    };
  }
  // tfjs-node is an optional dependency of @road/backend (which loaded it): resolve it from there.
  const here = createRequire(import.meta.url);
  const requires = [here];
  try {
    requires.push(createRequire(here.resolve('@road/backend')));
  } catch {
    // @road/backend not resolvable as CJS: only the local require
  }
  for (const pkg of backendName === 'tensorflow-gpu'
    ? ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']
    : ['@tensorflow/tfjs-node']) {
    for (const req of requires) {
      try {
        const node = req(pkg) as { node: { summaryFileWriter(dir: string): ScalarWriter } };
        const w = node.node.summaryFileWriter(logdir);
        return { writer: w, reason: `TensorBoard event files in ${logdir}` };
      } catch {
        // try the next
      }
    }
  }
  return { writer: null, reason: 'TensorBoard event files skipped: tfjs-node could not be loaded' };
}
