import * as tf from '@tensorflow/tfjs-core';
import { ATTENTIVE_BN_SUFFIX } from '../net-builder.js';
import type { InputNormalization } from '../preprocess.js';
import type { SegmentationNet } from '../segmentation-net.js';
import { weightedLayers } from '../weights.js';
import {
  detectWeightMap,
  type MapContext,
  type TargetWeight,
  WEIGHT_MAPS,
  type WeightMapName,
  type WeightNameMap,
  type WeightTransform,
} from './name-maps.js';
import { readWeightFile } from './read-weight-file.js';
import { type RawTensor, type WeightFile, WeightFileError } from './weight-file.js';

/** What loading a weight file into a net did (like timm's `load_state_dict` result, plus the rules applied). */
export interface PretrainedLoadReport {
  source: string;
  format: WeightFile['format'];
  /** The name map used (`undefined` when none fits the file). */
  map?: WeightMapName;
  /** The input normalisation the weights expect. */
  normalization?: InputNormalization;
  net: string;
  /** `source key → layer/weight` for every weight loaded. */
  matched: string[];
  /** Trunk weights of the net that the file did not provide (`layer/weight`). */
  missing: string[];
  /** Source tensors no rule maps into this net. */
  unexpected: string[];
  /** Source tensors whose target exists with another shape. */
  mismatched: { source: string; target: string; sourceShape: number[]; targetShape: number[] }[];
  /** Source tensors skipped by rule (ImageNet classifier, BN step counters, a head of another shape), with why. */
  skipped: { source: string; reason: string }[];
  /** Conv biases the file has none of (PyTorch `bias=False`), set to 0. */
  zeroFilled: string[];
  /** Head and attention layers the file does not cover, left as initialised. */
  untouched: string[];
  /** Net options that differ from what the weights were trained with (outputs will differ slightly or more). */
  notes: string[];
  /** True when nothing is missing, unexpected or mismatched. */
  strictOk: boolean;
}

/** Thrown by a strict load that found missing, unexpected or shape-mismatched tensors; carries the report. */
export class PretrainedLoadError extends Error {
  constructor(readonly report: PretrainedLoadReport) {
    super(`${report.source}: does not load strictly into ${report.net}\n${formatLoadReport(report)}`);
    this.name = 'PretrainedLoadError';
  }
}

export interface LoadPretrainedOptions {
  /** Fail (writing nothing) on missing, unexpected or mismatched tensors. Default true. */
  strict?: boolean;
  /** Name map; default: detected from the file's keys. */
  map?: WeightMapName;
  /** Only compute the report; write nothing. */
  dryRun?: boolean;
}

const BN_WEIGHTS = new Set<TargetWeight>(['gamma', 'beta', 'moving_mean', 'moving_variance']);

function shortName(originalName: string): string {
  const p = originalName.split('/');
  return p[p.length - 1];
}

/** Row-major strides. */
function transformValues(t: RawTensor, data: Float32Array, transform: WeightTransform, target: number[]): Float32Array {
  const out = new Float32Array(data.length);
  if (transform === 'oihw') {
    const [O, I, H, W] = t.shape;
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) out[((y * W + x) * I + i) * O + o] = data[((o * I + i) * H + y) * W + x];
    return out;
  }
  if (transform === 'linear-to-conv') {
    const [H, W, C, O] = target;
    const N = C * H * W;
    for (let o = 0; o < O; o++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) out[((y * W + x) * C + c) * O + o] = data[o * N + (c * H + y) * W + x];
    return out;
  }
  return data; // 'none' and 'dense-to-conv' (row-major reshape) keep the order
}

/** The shape a source tensor has after its transform (before comparing with the target). */
function transformedShape(t: RawTensor, transform: WeightTransform, target: number[]): number[] {
  const s = t.shape;
  if (transform === 'oihw') return s.length === 4 ? [s[2], s[3], s[1], s[0]] : s;
  if (transform === 'linear-to-conv') {
    if (s.length !== 2 || target.length !== 4) return s;
    const [H, W, , O] = target;
    return s[0] === O && s[1] % (H * W) === 0 ? [H, W, s[1] / (H * W), O] : s;
  }
  if (transform === 'dense-to-conv') {
    if (s.length !== 2 || target.length !== 4) return s;
    const [H, W, , O] = target;
    return s[1] === O && s[0] % (H * W) === 0 ? [H, W, s[0] / (H * W), O] : s;
  }
  return s;
}

/**
 * Loads a pretrained weight file (torchvision/timm/AdaptSegNet `.pth`, safetensors, Keras HDF5; see
 * {@link readWeightFile}) into a net through a name map ({@link WEIGHT_MAPS}; detected from the file's keys):
 * PyTorch conv kernels OIHW → HWIO and Linear weights → conv kernels once, here; batch-norm weight/bias/running
 * statistics → gamma/beta/moving_mean/moving_variance (the epsilon is a net option, `bnEpsilon`: see the notes).
 * The ImageNet classifier and BN step counters are skipped by rule and reported; the head and HydraPlus layers the
 * file does not cover are left as initialised (`untouched`); HydraPlus `_hp` batch norms take their base layer's
 * statistics. Strict (default): any missing trunk weight, unexpected tensor or shape mismatch throws a
 * {@link PretrainedLoadError} listing them, before anything is written.
 */
export function loadPretrainedWeights(
  net: SegmentationNet,
  file: string | WeightFile,
  options: LoadPretrainedOptions = {},
): PretrainedLoadReport {
  const wf = typeof file === 'string' ? readWeightFile(file) : file;
  const strict = options.strict ?? true;
  const nameMap: WeightNameMap | undefined = options.map ? WEIGHT_MAPS[options.map] : detectWeightMap(wf);
  if (options.map && !nameMap) {
    throw new WeightFileError(
      wf.source,
      `unknown weight map '${options.map}' (known: ${Object.keys(WEIGHT_MAPS).join(', ')})`,
    );
  }
  const layers = weightedLayers(net.model);
  const backboneLayers = new Set(weightedLayers(net.backbone).keys());
  const targets = new Map<string, { layer: string; index: number; shape: number[] }>();
  for (const [name, layer] of layers) {
    layer.weights.forEach((v, index) => {
      targets.set(`${name}/${shortName(v.originalName)}`, { layer: name, index, shape: v.shape as number[] });
    });
  }
  const ctx: MapContext = {
    targetShape: (layer, weight) => targets.get(`${layer}/${weight}`)?.shape,
    numClasses: net.numClasses,
    asppRates: net.options.asppRates ?? [6, 12, 18, 24],
  };
  const report: PretrainedLoadReport = {
    source: wf.source,
    format: wf.format,
    map: nameMap?.name,
    normalization: nameMap?.normalization,
    net: net.name,
    matched: [],
    missing: [],
    unexpected: [],
    mismatched: [],
    skipped: [],
    zeroFilled: [],
    untouched: [],
    notes: [],
    strictOk: false,
  };
  const values = new Map<string, Float32Array>(); // target key → values
  for (const [key, t] of wf.tensors) {
    const rule = nameMap ? nameMap.map(key, ctx, t.shape) : null;
    if (rule && 'skip' in rule) {
      report.skipped.push({ source: key, reason: rule.skip });
      continue;
    }
    const target = rule ? targets.get(`${rule.layer}/${rule.weight}`) : undefined;
    if (!rule || !target) {
      report.unexpected.push(key);
      continue;
    }
    const tkey = `${rule.layer}/${rule.weight}`;
    const shape = transformedShape(t, rule.transform, target.shape);
    if (!tf.util.arraysEqual(shape, target.shape) || !(t.data instanceof Float32Array)) {
      report.mismatched.push({ source: key, target: tkey, sourceShape: t.shape, targetShape: target.shape });
      continue;
    }
    if (values.has(tkey)) throw new WeightFileError(wf.source, `two tensors map to ${tkey} (the second is '${key}')`);
    values.set(tkey, transformValues(t, t.data, rule.transform, target.shape));
    report.matched.push(`${key} → ${tkey}`);
  }
  // Conv biases a PyTorch file does not have (bias=False) are zero; HydraPlus `_hp` batch norms copy their base.
  for (const [tkey, target] of targets) {
    if (values.has(tkey)) continue;
    const [layer, weight] = tkey.split('/') as [string, TargetWeight];
    if (weight === 'bias' && values.has(`${layer}/kernel`)) {
      values.set(tkey, new Float32Array(target.shape[0]));
      report.zeroFilled.push(tkey);
      continue;
    }
    if (layer.endsWith(ATTENTIVE_BN_SUFFIX) && BN_WEIGHTS.has(weight)) {
      const base = values.get(`${layer.slice(0, -ATTENTIVE_BN_SUFFIX.length)}/${weight}`);
      if (base) {
        values.set(tkey, base);
        continue;
      }
    }
    const isTrunk = backboneLayers.has(layer) && !layer.startsWith('hp_') && !layer.endsWith(ATTENTIVE_BN_SUFFIX);
    (isTrunk ? report.missing : report.untouched).push(tkey);
  }
  if (net.name === 'deeplabv2-resnet' && nameMap?.resnetOptions) {
    const want = nameMap.resnetOptions;
    const eps = net.options.bnEpsilon ?? 1.001e-5;
    if (eps !== want.bnEpsilon)
      report.notes.push(`weights use BN epsilon ${want.bnEpsilon}; the net has bnEpsilon ${eps}`);
    const strideIn = net.options.strideIn ?? '1x1';
    if (strideIn !== want.strideIn) {
      report.notes.push(`weights stride in the bottleneck's ${want.strideIn} conv; the net has strideIn '${strideIn}'`);
    }
  }
  report.strictOk = report.missing.length === 0 && report.unexpected.length === 0 && report.mismatched.length === 0;
  if (strict && !report.strictOk) throw new PretrainedLoadError(report);
  if (options.dryRun) return report;
  const byLayer = new Map<string, Map<number, Float32Array>>();
  for (const [tkey, v] of values) {
    const t = targets.get(tkey)!;
    if (!byLayer.has(t.layer)) byLayer.set(t.layer, new Map());
    byLayer.get(t.layer)!.set(t.index, v);
  }
  for (const [name, given] of byLayer) {
    const layer = layers.get(name)!;
    const current = layer.getWeights();
    const next = current.map((c, i) => (given.has(i) ? tf.tensor(given.get(i)!, c.shape, 'float32') : c));
    layer.setWeights(next);
    tf.dispose(next.filter((n, i) => n !== current[i]));
  }
  return report;
}

/** Net options the file's weights need for PyTorch-identical outputs (deeplabv2-resnet: `bnEpsilon`, `strideIn`). */
export function netOptionsForWeights(
  file: WeightFile,
  netName: string,
): { bnEpsilon?: number; strideIn?: '1x1' | '3x3' } {
  const m = detectWeightMap(file);
  return netName === 'deeplabv2-resnet' && m?.resnetOptions ? { ...m.resnetOptions } : {};
}

/** The input normalisation a weight file's origin expects, if its layout is known. */
export function normalizationForWeights(file: WeightFile): InputNormalization | undefined {
  return detectWeightMap(file)?.normalization;
}

const list = (title: string, items: string[], limit = 20) =>
  items.length === 0
    ? []
    : [
        `${title} (${items.length}):`,
        ...items.slice(0, limit).map((s) => `  ${s}`),
        ...(items.length > limit ? [`  … ${items.length - limit} more`] : []),
      ];

/** A human-readable report: counts first (`matched N`, …), then the lists. */
export function formatLoadReport(r: PretrainedLoadReport, opts: { verbose?: boolean } = {}): string {
  const lim = opts.verbose ? Number.POSITIVE_INFINITY : 20;
  const lines = [
    `${r.source} (${r.format}${r.map ? `, map ${r.map}` : ', no known layout'}) → ${r.net}`,
    `matched ${r.matched.length}, missing ${r.missing.length}, unexpected ${r.unexpected.length}, shape-mismatched ${r.mismatched.length}, skipped ${r.skipped.length}, zero-filled biases ${r.zeroFilled.length}, untouched ${r.untouched.length}`,
    `strict: ${r.strictOk ? 'ok' : 'FAILS'}${r.normalization ? `; input normalisation: ${r.normalization}` : ''}`,
    ...list('missing', r.missing, lim),
    ...list('unexpected', r.unexpected, lim),
    ...list(
      'shape-mismatched',
      r.mismatched.map((m) => `${m.source} [${m.sourceShape}] → ${m.target} [${m.targetShape}]`),
      lim,
    ),
    ...list(
      'skipped by rule',
      r.skipped.map((s) => `${s.source}: ${s.reason}`),
      lim,
    ),
    ...list('untouched (left as initialised)', r.untouched, lim),
    ...list('notes', r.notes, lim),
  ];
  if (opts.verbose) lines.push(...list('matched', r.matched, lim));
  return lines.join('\n');
}
