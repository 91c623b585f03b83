import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { AtrousConv2D } from './atrous-conv2d.js';
import { type InitializerName, layerSeed, makeInitializer } from './initializers.js';

/** A tfjs-layers layer. */
export type Layer = layers.Layer;

/** Convolution description for {@link NetBuilder.conv}. */
export interface ConvSpec {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'same' | 'valid';
  /** Dilation rate; > 1 makes an {@link AtrousConv2D} (stride must then be 1). */
  dilation?: number;
  useBias?: boolean;
  activation?: 'linear' | 'relu';
}

/** Suffix of the batch-norm layers owned by the HydraPlus attentive branch (see {@link NetBuilder.attentiveBranch}). */
export const ATTENTIVE_BN_SUFFIX = '_hp';

/**
 * Creates named layers for a net and lets a second branch reuse them (weight sharing).
 *
 * The main builder creates every layer once (a name used twice is an error). The builder returned by
 * {@link attentiveBranch} shares the cache: asking it for a layer returns the main branch's instance (same weights),
 * except batch normalisation, for which it makes (once) its own layer named `<name>_hp`, so the attentive features
 * (scaled by attention maps, hence differently distributed) neither use nor disturb the main branch's statistics.
 */
export class NetBuilder {
  private constructor(
    private readonly cache: Map<string, Layer>,
    readonly seed: number | undefined,
    readonly initializer: InitializerName,
    readonly attentive: boolean,
    /** Set on an own-weights branch ({@link ownBranch}): the prefix of its layer names. */
    readonly prefix: string | null = null,
  ) {}

  /** A main-branch builder; `seed` makes every initializer deterministic. */
  static create(seed: number | undefined, initializer: InitializerName = 'glorotUniform'): NetBuilder {
    return new NetBuilder(new Map(), seed, initializer, false);
  }

  /** The HydraPlus attentive branch: shares every layer with this builder except batch norm. */
  attentiveBranch(): NetBuilder {
    return new NetBuilder(this.cache, this.seed, this.initializer, true);
  }

  /**
   * A branch with its own weights (HydraPlus-Net's attentive branches, `attentionModules: 'separate'`): asking it
   * for layer `name` returns its own layer `<prefix><name>` (made on first use with the main branch's recipe, its
   * own seeded initial weights, and shared by every later use within this branch).
   */
  ownBranch(prefix: string): NetBuilder {
    if (!/^[A-Za-z0-9_]+$/.test(prefix)) throw new Error(`NetBuilder: invalid branch prefix '${prefix}'`);
    return new NetBuilder(this.cache, this.seed, this.initializer, false, prefix);
  }

  /** Names of all layers created so far. */
  layerNames(): string[] {
    return [...this.cache.keys()];
  }

  /**
   * Returns the layer called `name`, creating it with `make(actualName)` on the main branch (`actualName` = `name`;
   * `<name>_hp` for per-branch layers of the attentive branch; `<prefix><name>` on an own-weights branch). A maker
   * must name its layer `actualName`.
   */
  layer<L extends Layer>(name: string, make: (actualName: string) => L, opts: { perBranch?: boolean } = {}): L {
    if (this.prefix !== null) {
      const key = this.prefix + name;
      let l = this.cache.get(key);
      if (!l) {
        l = make(key);
        if (l.name !== key) throw new Error(`NetBuilder: layer '${key}' was created with name '${l.name}'`);
        this.cache.set(key, l);
      }
      return l as L;
    }
    if (this.attentive) {
      if (opts.perBranch) {
        const key = name + ATTENTIVE_BN_SUFFIX;
        let l = this.cache.get(key);
        if (!l) {
          l = make(key);
          this.cache.set(key, l);
        }
        return l as L;
      }
      const shared = this.cache.get(name);
      if (!shared)
        throw new Error(`NetBuilder: the attentive branch asked for layer '${name}', which the main branch never made`);
      return shared as L;
    }
    if (this.cache.has(name)) throw new Error(`NetBuilder: layer name '${name}' is defined twice`);
    const l = make(name);
    if (l.name !== name) throw new Error(`NetBuilder: layer '${name}' was created with name '${l.name}'`);
    this.cache.set(name, l);
    return l;
  }

  /** Conv2D (or {@link AtrousConv2D} when `dilation > 1`) named like Keras, weights `kernel`/`bias`. */
  conv(base: string, spec: ConvSpec): Layer {
    return this.layer(base, (name) => {
      const dilation = spec.dilation ?? 1;
      const seed = layerSeed(this.seed, name);
      if (dilation > 1) {
        if ((spec.strides ?? 1) !== 1) throw new Error(`NetBuilder: layer '${name}' has both stride and dilation > 1`);
        return new AtrousConv2D({
          name,
          filters: spec.filters,
          kernelSize: spec.kernelSize,
          dilationRate: dilation,
          padding: spec.padding ?? 'same',
          useBias: spec.useBias ?? true,
          activation: spec.activation ?? 'linear',
          kernelInitializer: this.initializer,
          seed,
        });
      }
      return layers.conv2d({
        name,
        filters: spec.filters,
        kernelSize: spec.kernelSize,
        strides: spec.strides ?? 1,
        padding: spec.padding ?? 'same',
        useBias: spec.useBias ?? true,
        activation: spec.activation ?? 'linear',
        kernelInitializer: makeInitializer(this.initializer, seed),
      });
    });
  }

  /** Batch normalisation over channels (per-branch: the attentive branch gets its own `<name>_hp`). */
  bn(name: string, epsilon = 1e-3, momentum = 0.99): Layer {
    return this.layer(name, (n) => layers.batchNormalization({ name: n, epsilon, momentum }), { perBranch: true });
  }

  relu(name: string): Layer {
    return this.layer(name, (n) => layers.reLU({ name: n }));
  }

  sigmoid(name: string): Layer {
    return this.layer(name, (n) => layers.activation({ name: n, activation: 'sigmoid' }));
  }

  maxPool(name: string, poolSize: number, strides: number, padding: 'same' | 'valid' = 'valid'): Layer {
    return this.layer(name, (n) => layers.maxPooling2d({ name: n, poolSize, strides, padding }));
  }

  zeroPad(name: string, padding: number): Layer {
    return this.layer(name, (n) => layers.zeroPadding2d({ name: n, padding }));
  }

  add(name: string): Layer {
    return this.layer(name, (n) => layers.add({ name: n }));
  }

  concat(name: string): Layer {
    return this.layer(name, (n) => layers.concatenate({ name: n, axis: -1 }));
  }

  /**
   * Dropout, deliberately unseeded: a seeded tfjs-layers Dropout draws the same mask on every call (tfjs 4.22), which
   * is not dropout. So `seed` fixes initial weights but not dropout masks; use rate 0 for bit-reproducible training.
   */
  dropout(name: string, rate: number): Layer {
    return this.layer(name, (n) => layers.dropout({ name: n, rate }));
  }

  /** Applies a layer to one symbolic tensor. */
  static call(layer: Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    return layer.apply(x) as SymbolicTensor;
  }
}

/** conv (no bias) → batch norm → ReLU, all named from `name`. */
export function convBnRelu(
  x: SymbolicTensor,
  b: NetBuilder,
  name: string,
  filters: number,
  opts: { strides?: number; dilation?: number; kernelSize?: number } = {},
): SymbolicTensor {
  const y = NetBuilder.call(
    b.conv(`${name}_conv`, {
      filters,
      kernelSize: opts.kernelSize ?? 3,
      strides: opts.strides ?? 1,
      dilation: opts.dilation ?? 1,
      useBias: false,
    }),
    x,
  );
  return NetBuilder.call(b.relu(`${name}_relu`), NetBuilder.call(b.bn(`${name}_bn`), y));
}
