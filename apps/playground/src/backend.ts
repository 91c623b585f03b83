// The page's tfjs engine: @road/backend's browser path (webgpu → webgl → wasm → cpu, each skip with its reason).
import { type BackendInfo, type BackendName, engineLine, initBackend } from '@road/backend';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Chooses the backend: `?backend=wasm` (or webgpu, webgl, cpu) asks for one; otherwise the browser order. The wasm
 * binaries are served next to the page, in wasm/.
 */
export async function chooseBackend(search: string, log: (line: string) => void): Promise<BackendInfo> {
  setWasmPaths(new URL('wasm/', document.baseURI).href);
  const asked = new URLSearchParams(search).get('backend');
  if (asked != null && !(NAMES as readonly string[]).includes(asked)) {
    throw new Error(`unknown backend '${asked}' in the address (expected one of ${NAMES.join(', ')})`);
  }
  return initBackend(asked ? { prefer: asked as BackendName, log } : { log });
}

/** The one line shown at the top of the page, e.g. `backend: wasm; skipped webgpu (no WebGPU in this browser), webgl (…)`. */
export function describeBackend(info: BackendInfo): string {
  return engineLine({ ...info, native: null }); // native kernels are a Node matter
}
