import { engineLine, initBackend } from '@road/backend';
import * as tf from '@tensorflow/tfjs-core';
import { EXIT, RoadError } from './errors.js';
import { isVerbose } from './output.js';

/** The engine in use: its name and the backends that were skipped (with reasons). */
export interface EngineInfo {
  name: string;
  skipped: { name: string; reason: string }[];
  /** @road/native's conv kernels on wasm: threads and micro-kernel when loaded, else why not. */
  native?: { loaded: boolean; reason: string; threads: number | null; isa: string | null };
}

let current: { key: string; info: EngineInfo } | null = null;

/**
 * Initialises the tfjs engine once per process through @road/backend (which also registers the training kernels
 * and gradients the wasm backend lacks). `auto` tries tensorflow-gpu → tensorflow → webgpu → wasm → cpu.
 * Logs one line (the engine, its native kernels, each skipped engine in a few words); under `--verbose` also
 * @road/backend's line per decision with the full reasons.
 */
export async function ensureEngine(backend: string, log: (line: string) => void = () => {}): Promise<EngineInfo> {
  if (current && (current.key === backend || (backend === 'auto' && current.key !== 'cpu'))) return current.info;
  let info: EngineInfo;
  try {
    const detail = isVerbose() ? log : undefined;
    const r = await initBackend(backend === 'auto' ? { log: detail } : { prefer: backend as never, log: detail });
    info = {
      name: r.name,
      skipped: r.skipped.map((s) => ({ name: s.name, reason: s.reason })),
      ...(r.native
        ? { native: { loaded: r.native.loaded, reason: r.native.reason, threads: r.native.threads, isa: r.native.isa } }
        : {}),
    };
  } catch (e) {
    // @road/backend's message already says which backend could not be used: keep its reason only.
    const reason = (e as Error).message.replace(/^@road\/backend: backend '[^']+' cannot be used: /, '');
    throw new RoadError(`backend "${backend}" cannot be used: ${reason}`, EXIT.badInput);
  }
  current = { key: backend, info };
  log(engineLine(info as Parameters<typeof engineLine>[0]));
  return info;
}

/** The name of the active tfjs backend. */
export function activeBackend(): string {
  return tf.getBackend();
}
