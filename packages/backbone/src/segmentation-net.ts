import * as tf from '@tensorflow/tfjs-core';
import { input, LayersModel, model, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { readArtifacts, resolveSaveTarget } from './file-io.js';
import { attachHydraPlus } from './hydraplus.js';
import type { NetArchitecture, SegmentationNetOptions } from './net-architecture.js';
import { NetBuilder } from './net-builder.js';
import { getSegmentationNetFactory } from './registry.js';
import { resizeBilinear } from './resize-bilinear.js';
import { copyWeightsByName, type ModelLike, modelOf, type WeightCopyReport } from './weights.js';

/** Key of the metadata stored in saved models (`userDefinedMetadata`). */
export const METADATA_KEY = 'roadSegmentationNet';

/** A segmentation net: backbone (image → features) and head (features → logits), NHWC throughout. */
export interface SegmentationNet {
  /** Registered name, e.g. `'road-lite'`. */
  readonly name: string;
  readonly numClasses: number;
  /** Input pixels per feature (and logit) position along each axis. */
  readonly outputStride: number;
  /** Channels of {@link features}. */
  readonly featureChannels: number;
  /** The options the net was built with (defaults filled in where they matter). */
  readonly options: Readonly<SegmentationNetOptions>;
  /** image → features. The part a frozen teacher copies and ImageNet/pretext weights go into. */
  readonly backbone: LayersModel;
  /** features → logits at feature resolution. */
  readonly head: LayersModel;
  /** image → logits: `head(backbone(x))`, the model that is saved. */
  readonly model: LayersModel;
  /** The features distillation and adaptation use (for HydraPlus: the fused map, see README). Differentiable. */
  features(x: tf.Tensor4D, training?: boolean): tf.Tensor4D;
  /** Head applied to features. */
  logitsFromFeatures(f: tf.Tensor4D, training?: boolean): tf.Tensor4D;
  /** Logits at feature resolution. */
  logits(x: tf.Tensor4D, training?: boolean): tf.Tensor4D;
  /** Inference-mode logits resized bilinearly (half-pixel centres) to the input's height and width. */
  predict(x: tf.Tensor4D): tf.Tensor4D;
  /** The variables an optimizer should update (weights of trainable layers; not batch-norm statistics). */
  trainableVariables(): tf.Variable[];
  /** Number of scalars in all weights (trainable or not). */
  countParams(): number;
  /** Saves the whole net (tfjs layers format + metadata): an IOHandler, or a URL such as `file://dir`. */
  save(handlerOrUrl: string | tf.io.IOHandler): Promise<void>;
  /** Loads weights saved by {@link save} into this net (same name, class count and layer shapes; checked). */
  loadWeights(handlerOrUrl: string | tf.io.IOHandler): Promise<WeightCopyReport>;
  dispose(): void;
}

/** Metadata stored with a saved net. */
interface SavedNetMetadata {
  format: 1;
  name: string;
  options: SegmentationNetOptions;
}

function checkInt(what: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`${what} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
}

function checkCommonOptions(name: string, o: SegmentationNetOptions): void {
  if (o === null || typeof o !== 'object') throw new Error(`${name}: options must be an object`);
  checkInt(`${name}: numClasses`, o.numClasses, 1);
  if (o.inputChannels !== undefined) checkInt(`${name}: inputChannels`, o.inputChannels, 1);
  if (o.attention !== undefined && o.attention !== 'none' && o.attention !== 'hydraplus') {
    throw new Error(`${name}: attention must be 'none' or 'hydraplus', got ${JSON.stringify(o.attention)}`);
  }
  if (o.attentionMaps !== undefined) checkInt(`${name}: attentionMaps`, o.attentionMaps, 1);
  if (o.attentionModules !== undefined && o.attentionModules !== 'shared' && o.attentionModules !== 'separate') {
    throw new Error(
      `${name}: attentionModules must be 'shared' or 'separate', got ${JSON.stringify(o.attentionModules)}`,
    );
  }
  for (const key of ['attentionSources', 'attentionLevels'] as const) {
    const v = o[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => !Number.isInteger(x)))) {
      throw new Error(`${name}: ${key} must be an array of integers, got ${JSON.stringify(v)}`);
    }
  }
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isInteger(o.seed))) {
    throw new Error(`${name}: seed must be an integer, got ${JSON.stringify(o.seed)}`);
  }
}

interface BuiltTrunk {
  arch: NetArchitecture;
  builder: NetBuilder;
  image: SymbolicTensor;
  features: SymbolicTensor;
}

function buildTrunk(name: string, options: SegmentationNetOptions): BuiltTrunk {
  checkCommonOptions(name, options);
  const arch = getSegmentationNetFactory(name)(options);
  const builder = NetBuilder.create(options.seed, arch.initializer);
  const image = input({ shape: [null, null, options.inputChannels ?? 3], name: 'image' });
  const levels: SymbolicTensor[] = [];
  let x = image;
  for (const stage of arch.stages) {
    x = stage(x, builder);
    levels.push(x);
  }
  let features = x;
  if ((options.attention ?? 'none') === 'hydraplus') {
    features = attachHydraPlus(levels, arch.stages, builder, {
      maps: options.attentionMaps ?? 8,
      sources: options.attentionSources ?? [arch.attentionSource],
      levels: options.attentionLevels ?? [-1, 0, 1],
      batchNorm: arch.batchNorm,
      fusion: options.attentionFusion ?? arch.attentionFusion ?? 'concat',
      modules: options.attentionModules ?? 'shared',
    });
  }
  return { arch, builder, image, features };
}

/**
 * tfjs-layers counts one reference per symbolic call of a layer, but a model's dispose() releases each of its layers
 * once, so a layer shared by several branches (HydraPlus) would keep its weights alive after the model is disposed.
 * Bring every layer of `m` down to one reference so that `m.dispose()` frees everything.
 */
function releaseSharedLayerRefs(m: LayersModel): LayersModel {
  for (const layer of m.layers) {
    for (let i = 1; i < layer.inboundNodes.length; i++) layer.dispose();
  }
  return m;
}

/**
 * Builds only the backbone of net `name` (image → features), with the same layer names and shapes as the net's
 * backbone: for frozen teachers and pretext pretraining. `numClasses` is not needed.
 */
export function createBackbone(
  name: string,
  options: Omit<SegmentationNetOptions, 'numClasses'> & { numClasses?: number } = {},
): LayersModel {
  const { image, features } = buildTrunk(name, { numClasses: 1, ...options });
  return releaseSharedLayerRefs(model({ inputs: image, outputs: features, name: 'backbone' }));
}

class BuiltSegmentationNet implements SegmentationNet {
  constructor(
    readonly name: string,
    readonly options: Readonly<SegmentationNetOptions>,
    readonly outputStride: number,
    readonly featureChannels: number,
    readonly model: LayersModel,
    readonly backbone: LayersModel,
    readonly head: LayersModel,
  ) {}

  get numClasses(): number {
    return this.options.numClasses;
  }

  features(x: tf.Tensor4D, training = false): tf.Tensor4D {
    return this.backbone.apply(x, { training }) as tf.Tensor4D;
  }

  logitsFromFeatures(f: tf.Tensor4D, training = false): tf.Tensor4D {
    return this.head.apply(f, { training }) as tf.Tensor4D;
  }

  logits(x: tf.Tensor4D, training = false): tf.Tensor4D {
    return this.model.apply(x, { training }) as tf.Tensor4D;
  }

  predict(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4) throw new Error(`${this.name}.predict: expected an NHWC batch of rank 4, got shape [${x.shape}]`);
    return tf.tidy(() => resizeBilinear(this.logits(x, false), [x.shape[1], x.shape[2]]));
  }

  trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  countParams(): number {
    return this.model.countParams();
  }

  async save(handlerOrUrl: string | tf.io.IOHandler): Promise<void> {
    const meta: SavedNetMetadata = { format: 1, name: this.name, options: { ...this.options } };
    this.model.setUserDefinedMetadata({ [METADATA_KEY]: meta });
    await this.model.save(resolveSaveTarget(handlerOrUrl));
  }

  async loadWeights(handlerOrUrl: string | tf.io.IOHandler): Promise<WeightCopyReport> {
    const artifacts = await readArtifacts(handlerOrUrl);
    const meta = readMetadata(artifacts, handlerOrUrl);
    if (meta.name !== this.name) {
      throw new Error(`checkpoint ${describe(handlerOrUrl)} holds net '${meta.name}', not '${this.name}'`);
    }
    if (meta.options.numClasses !== this.numClasses) {
      throw new Error(
        `checkpoint ${describe(handlerOrUrl)} has ${meta.options.numClasses} classes, this net has ${this.numClasses}`,
      );
    }
    return assignSavedWeights(this.model, artifacts, handlerOrUrl);
  }

  dispose(): void {
    this.model.dispose();
  }
}

function describe(h: string | tf.io.IOHandler): string {
  return typeof h === 'string' ? `'${h}'` : '(IOHandler)';
}

function readMetadata(artifacts: tf.io.ModelArtifacts, from: string | tf.io.IOHandler): SavedNetMetadata {
  const all = artifacts.userDefinedMetadata as Record<string, unknown> | undefined;
  const meta = all?.[METADATA_KEY] as SavedNetMetadata | undefined;
  if (meta?.format !== 1 || typeof meta.name !== 'string' || typeof meta.options !== 'object') {
    throw new Error(`${describe(from)} is not a @road/backbone segmentation net (no '${METADATA_KEY}' metadata)`);
  }
  return meta;
}

/**
 * Writes the weights stored in `artifacts` into `target`'s variables, matched by weight name
 * (`layer/kernel`, …). Every variable must be present with its shape and nothing may be left over; all is checked
 * before anything is written.
 */
function assignSavedWeights(
  target: LayersModel,
  artifacts: tf.io.ModelArtifacts,
  from: string | tf.io.IOHandler,
): WeightCopyReport {
  if (!artifacts.weightData || !artifacts.weightSpecs) throw new Error(`${describe(from)} holds no weights`);
  const named = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    const missing: string[] = [];
    for (const v of target.weights) {
      const t = named[v.originalName];
      if (!t) missing.push(v.originalName);
      else if (!tf.util.arraysEqual(t.shape, v.shape as number[])) {
        throw new Error(
          `checkpoint ${describe(from)}: weight '${v.originalName}' has shape [${t.shape}] but the net expects [${v.shape}]`,
        );
      }
    }
    const expected = new Set(target.weights.map((v) => v.originalName));
    const extra = Object.keys(named).filter((n) => !expected.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `checkpoint ${describe(from)} does not match the net: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`,
      );
    }
    for (const v of target.weights) v.write(named[v.originalName]);
    const layers = [...new Set(target.weights.map((v) => v.originalName.split('/')[0]))];
    return { copied: layers, unmatchedSource: [], unmatchedTarget: [] };
  } finally {
    tf.dispose(Object.values(named)); // the variables keep their own reference to the data
  }
}

/**
 * Builds the registered net `name` (see {@link listSegmentationNets}) with fresh weights (deterministic given
 * `seed`). With `attention: 'hydraplus'` the backbone gets HydraPlus multi-directional attention.
 */
export function createSegmentationNet(name: string, options: SegmentationNetOptions): SegmentationNet {
  const { arch, builder, image, features } = buildTrunk(name, options);
  const backbone = releaseSharedLayerRefs(model({ inputs: image, outputs: features, name: 'backbone' }));
  const featIn = input({ shape: [null, null, arch.featureChannels], name: 'features' });
  const head = model({ inputs: featIn, outputs: arch.head(featIn, builder), name: 'head' });
  const x = input({ shape: [null, null, options.inputChannels ?? 3], name: 'input' });
  const full = model({
    inputs: x,
    outputs: head.apply(backbone.apply(x)) as SymbolicTensor,
    name: name.replace(/[^A-Za-z0-9_]/g, '_'),
  });
  return new BuiltSegmentationNet(name, { ...options }, arch.outputStride, arch.featureChannels, full, backbone, head);
}

/**
 * Loads a net saved by {@link SegmentationNet.save}: an IOHandler (e.g. `tf.io.fromMemory(artifacts)`) or a URL
 * (`file://dir` or `file://dir/model.json` in Node). The net is rebuilt from the stored name and options with this
 * package's code, then every weight is loaded by name with its shape checked; the stored topology is not used.
 * `expect` turns a wrong net name or class count into a clear error.
 */
export async function loadSegmentationNet(
  handlerOrUrl: string | tf.io.IOHandler,
  expect: { name?: string; numClasses?: number } = {},
): Promise<SegmentationNet> {
  const artifacts = await readArtifacts(handlerOrUrl);
  const meta = readMetadata(artifacts, handlerOrUrl);
  if (expect.name !== undefined && meta.name !== expect.name) {
    throw new Error(`checkpoint ${describe(handlerOrUrl)} holds net '${meta.name}', expected '${expect.name}'`);
  }
  if (expect.numClasses !== undefined && meta.options.numClasses !== expect.numClasses) {
    throw new Error(
      `checkpoint ${describe(handlerOrUrl)} has ${meta.options.numClasses} classes, expected ${expect.numClasses}`,
    );
  }
  const net = createSegmentationNet(meta.name, meta.options);
  try {
    assignSavedWeights(net.model, artifacts, handlerOrUrl);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}

/**
 * Copies backbone weights by layer name from `from` (a backbone from {@link createBackbone}, another net, or any
 * LayersModel with the same layer names) into `to`'s backbone. HydraPlus-only layers of `to` stay as they are
 * (reported in `unmatchedTarget`); its attentive batch norms `X_hp` are initialised from `X`.
 * Throws, naming the layer, on a shape mismatch.
 */
export function copyBackboneWeights(from: ModelLike, to: SegmentationNet | LayersModel): WeightCopyReport {
  const source = from instanceof LayersModel ? from : ((from as SegmentationNet).backbone ?? modelOf(from));
  const target = to instanceof LayersModel ? to : to.backbone;
  return copyWeightsByName(source, target);
}
