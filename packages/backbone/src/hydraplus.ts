import * as tf from '@tensorflow/tfjs-core';
import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { NetBuilder } from './net-builder.js';
import { resizeBilinear } from './resize-bilinear.js';

type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];

/** One stage (block) of a trunk: maps the previous level's features to the next level's. */
export type StageFn = (x: SymbolicTensor, b: NetBuilder) => SymbolicTensor;

/**
 * The multiplication of a multi-directional attention (MDA) link, HydraPlus-Net eq. (1): given features
 * `F ∈ R^{N×H×W×C}` of one level and `L` attention maps `α ∈ R^{N×h×w×L}` from another level, each map is resized
 * bilinearly (half-pixel centres) to H×W and multiplied onto every channel:
 *
 *   out[n·L + l, i, j, c] = F[n, i, j, c] · resize(α)[n, i, j, l]
 *
 * The L attentive feature maps are folded into the batch axis (`N·L` samples), so the following shared blocks run
 * once on a batch of N·L instead of L times; {@link UnfoldAttentionMaps} moves them back into channels.
 * Inputs: `[features, maps]`. Serialisable (`className = 'HydraPlusMdaMultiply'`).
 */
export class MdaMultiply extends layers.Layer {
  static className = 'HydraPlusMdaMultiply';

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error(`${this.name}: expects [features, maps]`);
    return tf.tidy(() => {
      const f = inputs[0] as tf.Tensor4D;
      let a = inputs[1] as tf.Tensor4D;
      const [n, h, w, c] = f.shape;
      const l = a.shape[3];
      if (a.shape[0] !== n) throw new Error(`${this.name}: batch of features (${n}) and maps (${a.shape[0]}) differ`);
      if (a.shape[1] !== h || a.shape[2] !== w) a = resizeBilinear(a, [h, w]);
      const maps = tf.expandDims(tf.transpose(a, [0, 3, 1, 2]), 4); // [N, L, H, W, 1]
      return tf.reshape(tf.mul(tf.expandDims(f, 1), maps), [n * l, h, w, c]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [fs, ms] = inputShape as Shape[];
    const n = fs[0] == null || ms[3] == null ? null : fs[0] * ms[3];
    return [n, fs[1], fs[2], fs[3]];
  }
}
tf.serialization.registerClass(MdaMultiply);

/** Config of {@link UnfoldAttentionMaps}. */
export interface UnfoldAttentionMapsArgs {
  /** L, the number of attention maps folded into the batch axis by {@link MdaMultiply}. */
  maps: number;
  /** `'concat'` (default): `[N, h, w, L·C]`; `'mean'`: average of the L maps, `[N, h, w, C]`. */
  reduce?: 'concat' | 'mean';
  name?: string;
}

/**
 * Inverse fold of {@link MdaMultiply}: `[N·L, h, w, C] → [N, h, w, L·C]`, map-major channels
 * (`out[n, i, j, l·C + c] = x[n·L + l, i, j, c]`), or with `reduce: 'mean'` the mean over the L maps
 * (`[N, h, w, C]`). Serialisable (`className = 'HydraPlusUnfoldMaps'`).
 */
export class UnfoldAttentionMaps extends layers.Layer {
  static className = 'HydraPlusUnfoldMaps';
  readonly maps: number;
  readonly reduce: 'concat' | 'mean';

  constructor(args: UnfoldAttentionMapsArgs) {
    super(args);
    if (!Number.isInteger(args.maps) || args.maps < 1) {
      throw new Error(`UnfoldAttentionMaps: maps must be a positive integer, got ${args.maps}`);
    }
    this.maps = args.maps;
    this.reduce = args.reduce ?? 'concat';
    if (this.reduce !== 'concat' && this.reduce !== 'mean') {
      throw new Error(`UnfoldAttentionMaps: reduce must be 'concat' or 'mean', got '${this.reduce}'`);
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [nl, h, w, c] = x.shape;
      const l = this.maps;
      if (nl % l !== 0) throw new Error(`${this.name}: batch ${nl} is not a multiple of ${l} maps`);
      const n = nl / l;
      if (this.reduce === 'mean') return tf.mean(tf.reshape(x, [n, l, h, w, c]), 1);
      return tf.reshape(tf.transpose(tf.reshape(x, [n, l, h, w, c]), [0, 2, 3, 1, 4]), [n, h, w, l * c]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const c = s[3] == null || this.reduce === 'mean' ? s[3] : s[3] * this.maps;
    return [s[0] == null ? null : s[0] / this.maps, s[1], s[2], c];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), maps: this.maps, reduce: this.reduce };
  }
}
tf.serialization.registerClass(UnfoldAttentionMaps);

/** Resolved HydraPlus settings. */
export interface HydraPlusConfig {
  /** L, attention maps per MDA module (paper: 8). */
  maps: number;
  /** 1-based stage indices whose output generates attention maps (one MDA module each). */
  sources: number[];
  /** Offsets, relative to the source, of the levels the maps are multiplied onto (default [-1, 0, 1]). */
  levels: number[];
  /** Whether the fusion uses batch norm (true for BN nets). */
  batchNorm: boolean;
  /**
   * `'concat'`: `relu(bn(conv1×1([F_K, A…])))`, C·(1 + P·L)·C weights for P (source, target) pairs;
   * `'sum'`: the parameter-free average of F_K and, per pair, the mean of its L attentive features.
   */
  fusion: 'concat' | 'sum';
  /**
   * `'shared'` (default): the attentive paths run through the main branch's stages (shared weights, own BN);
   * `'separate'`: HydraPlus-Net's form (Liu et al., ICCV 2017, §3.2): each MDA module (source stage s) has its own
   * attentive branch, copies of stages s…K with their own weights (layers `hp_m<s>_<name>`), which all of the
   * module's paths (lower, same and higher level) run through.
   */
  modules?: 'shared' | 'separate';
}

/** Target levels (1-based) of the MDA module sourced at `source` in a trunk of `numStages` stages. */
export function mdaTargets(source: number, levels: number[], numStages: number): number[] {
  const t = [...new Set(levels.map((o) => source + o))].filter((s) => s >= 1 && s <= numStages).sort((a, b) => a - b);
  if (t.length === 0)
    throw new Error(`HydraPlus: attentionLevels [${levels}] from stage ${source} hit no stage in 1..${numStages}`);
  return t;
}

/**
 * Adds HydraPlus multi-directional attention to a trunk whose per-stage outputs are `levels` (built by `stages` on
 * the main branch of `b`). For each source stage s: `α_s = sigmoid(conv1×1_L(F_s))`; for each target level t:
 * `A = F_t ⊙ resize(α_s)` (L maps, {@link MdaMultiply}), passed through stages t+1…K with the main branch's
 * convolutions (shared weights, own batch-norm statistics) — or, with `modules: 'separate'`, through the module's own
 * copies of those stages (HydraPlus-Net's separate attentive branches) — unfolded to L·C_K channels. The result (fusion
 * `'concat'`) is `relu(bn(conv1×1([F_K, A_{s,t}…])))` with C_K channels (no BN for nets without BN), or (fusion
 * `'sum'`) `(F_K + Σ_{s,t} mean_l A_{s,t,l}) / (1 + P)`: the fused feature map that `SegmentationNet.features`
 * returns.
 */
export function attachHydraPlus(
  levels: SymbolicTensor[],
  stages: StageFn[],
  b: NetBuilder,
  cfg: HydraPlusConfig,
): SymbolicTensor {
  const k = stages.length;
  if (levels.length !== k) throw new Error('attachHydraPlus: one level output per stage expected');
  if (!Number.isInteger(cfg.maps) || cfg.maps < 1) {
    throw new Error(`HydraPlus: attentionMaps must be a positive integer, got ${cfg.maps}`);
  }
  if (cfg.sources.length === 0) throw new Error('HydraPlus: attentionSources is empty');
  if (cfg.fusion !== 'concat' && cfg.fusion !== 'sum') {
    throw new Error(`HydraPlus: attentionFusion must be 'concat' or 'sum', got '${String(cfg.fusion)}'`);
  }
  const modules = cfg.modules ?? 'shared';
  if (modules !== 'shared' && modules !== 'separate') {
    throw new Error(`HydraPlus: attentionModules must be 'shared' or 'separate', got '${String(modules)}'`);
  }
  const last = levels[k - 1];
  const channels = last.shape[3];
  if (channels == null) throw new Error('HydraPlus: the trunk output must have a known channel count');
  const shared = b.attentiveBranch();
  const own = new Map<number, NetBuilder>();
  const branchOf = (s: number): NetBuilder => {
    if (modules === 'shared') return shared;
    if (!own.has(s)) own.set(s, b.ownBranch(`hp_m${s}_`));
    return own.get(s)!;
  };
  const sources = [...new Set(cfg.sources)].sort((x, y) => x - y);
  const alphas = new Map<number, SymbolicTensor>();
  for (const s of sources) {
    if (!Number.isInteger(s) || s < 1 || s > k)
      throw new Error(`HydraPlus: attention source stage ${s} is not in 1..${k}`);
    const logits = NetBuilder.call(b.conv(`hp_att${s}`, { filters: cfg.maps, kernelSize: 1 }), levels[s - 1]);
    alphas.set(s, NetBuilder.call(b.sigmoid(`hp_att${s}_sigmoid`), logits));
  }
  // One attentive path per (source, target). Paths are built highest target first (fewest shared stages), so that
  // the shared layers' nodes are numbered in the order tfjs' topology deserializer recreates them; the fused
  // channels are then ordered by source, then target (ascending).
  const pairs = sources.flatMap((s) => mdaTargets(s, cfg.levels, k).map((t) => [s, t] as const));
  const byPair = new Map<string, SymbolicTensor>();
  for (const [s, t] of [...pairs].sort((p, q) => q[1] - p[1] || p[0] - q[0])) {
    let a = NetBuilder.call(
      b.layer(`hp_mda${s}_to${t}`, (n) => new MdaMultiply({ name: n })),
      [levels[t - 1], alphas.get(s)!],
    );
    const branch = branchOf(s);
    for (let m = t; m < k; m++) a = stages[m](a, branch);
    const name = `hp_unfold${s}_to${t}`;
    const reduce = cfg.fusion === 'sum' ? 'mean' : 'concat';
    byPair.set(
      name,
      NetBuilder.call(
        b.layer(name, (n) => new UnfoldAttentionMaps({ name: n, maps: cfg.maps, reduce })),
        a,
      ),
    );
  }
  const parts: SymbolicTensor[] = [last, ...pairs.map(([s, t]) => byPair.get(`hp_unfold${s}_to${t}`)!)];
  if (cfg.fusion === 'sum')
    return NetBuilder.call(
      b.layer('hp_fuse_average', (n) => layers.average({ name: n })),
      parts,
    );
  let y = NetBuilder.call(b.concat('hp_fuse_concat'), parts);
  y = NetBuilder.call(b.conv('hp_fuse_conv', { filters: channels, kernelSize: 1, useBias: !cfg.batchNorm }), y);
  if (cfg.batchNorm) y = NetBuilder.call(b.bn('hp_fuse_bn'), y);
  return NetBuilder.call(b.relu('hp_fuse_relu'), y);
}
