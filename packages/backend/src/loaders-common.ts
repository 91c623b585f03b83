// The parts of the engine loaders shared by the Node build (loaders.ts) and the browser build (loaders.browser.ts).
import * as tf from '@tensorflow/tfjs-core';

/** The engines road can run on, fastest first ('webgl' only in a browser, the TensorFlow ones only in Node). */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** The order {@link initBackend} tries in Node when not told otherwise (the browser build: {@link BROWSER_BACKEND_ORDER}). */
export const BACKEND_ORDER: readonly BackendName[] = Object.freeze([
  'tensorflow-gpu',
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
]);

/** The order {@link initBackend} tries in a browser when not told otherwise. */
export const BROWSER_BACKEND_ORDER: readonly BackendName[] = Object.freeze(['webgpu', 'webgl', 'wasm', 'cpu']);

/** The tfjs-core backend name behind each road backend name (both TensorFlow packages register 'tensorflow'). */
export const TF_BACKEND_NAME: Readonly<Record<BackendName, string>> = Object.freeze({
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  webgpu: 'webgpu',
  webgl: 'webgl',
  wasm: 'wasm',
  cpu: 'cpu',
});

/** Priorities the tfjs packages register their backends with (kept when we re-register a factory). */
const PRIORITY: Record<string, number> = { tensorflow: 3, webgpu: 3, webgl: 2, wasm: 2, cpu: 1 };

/** One line out of an error (multi-line native-addon messages included). */
export function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
  return (text ?? String(e)).replace(/\s+/g, ' ').trim();
}

/**
 * Initialises the tfjs backend `tfName` and makes it the engine's backend; throws with the factory's
 * own error when initialisation fails (tfjs only logs it and returns false). Uses only public
 * tfjs-core calls: the factory is re-registered wrapped in a function that records its error.
 */
export async function activateTfBackend(tfName: string): Promise<void> {
  if (tf.findBackend(tfName) != null) {
    if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') returned false`);
    return;
  }
  const factory = tf.findBackendFactory(tfName);
  if (factory == null) throw new Error(`no '${tfName}' backend is registered with tfjs-core ${tf.version_core}`);
  let failure: unknown;
  tf.removeBackend(tfName);
  tf.registerBackend(
    tfName,
    async () => {
      try {
        return await factory();
      } catch (e) {
        failure = e;
        throw e;
      }
    },
    PRIORITY[tfName] ?? 1,
  );
  if (!(await tf.setBackend(tfName))) {
    throw new Error(
      failure != null
        ? `initialising '${tfName}' failed: ${reasonOf(failure)}`
        : `tf.setBackend('${tfName}') returned false`,
    );
  }
}
