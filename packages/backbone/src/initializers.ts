import { initializers } from '@tensorflow/tfjs-layers';

/** Kernel initializers the nets use, by name (serialisable as a plain string). */
export type InitializerName = 'glorotUniform' | 'glorotNormal' | 'heNormal' | 'heUniform';

const NAMES: readonly InitializerName[] = ['glorotUniform', 'glorotNormal', 'heNormal', 'heUniform'];

/** Makes a tfjs-layers initializer from its name, seeded when `seed` is given (deterministic weights). */
export function makeInitializer(name: InitializerName, seed?: number): ReturnType<typeof initializers.glorotUniform> {
  if (!NAMES.includes(name))
    throw new Error(`unknown kernel initializer '${name}' (expected one of ${NAMES.join(', ')})`);
  const args = seed === undefined ? {} : { seed };
  return initializers[name](args);
}

/**
 * A 31-bit seed for one layer, derived from the net's seed and the layer's name (FNV-1a), so weights do not depend
 * on the order in which layers are built.
 */
export function layerSeed(seed: number | undefined, name: string): number | undefined {
  if (seed === undefined) return undefined;
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 1) % 2147483647;
}
