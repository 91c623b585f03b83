import { LayersModel, type layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { type ModelLike, modelOf } from './weights.js';

type Shape = (number | null)[];
type Layer = layers.Layer;

/** Result of {@link countFlops}. */
export interface FlopCount {
  /** FLOPs of one forward pass over the whole input batch (multiply and add counted separately). */
  total: number;
  /** `total / N`. */
  perImage: number;
  /** `total / (N·H·W)`: FLOPs per input pixel. */
  perPixel: number;
  /** FLOPs by layer name, summed over every call of a shared layer. */
  byLayer: Record<string, number>;
  /** Scalars in all weights of the model. */
  params: number;
}

function kernelShape(layer: Layer, names: string[]): number[] {
  const w = layer.weights.find((v) => names.includes(v.originalName.split('/').pop()!));
  if (!w) throw new Error(`countFlops: layer '${layer.name}' has no ${names.join('/')} weight`);
  return w.shape as number[];
}

function known(shape: Shape, layer: string): number[] {
  if (shape.some((d) => d == null))
    throw new Error(`countFlops: shape of '${layer}' output is not fully known: [${shape}]`);
  return shape as number[];
}

/**
 * FLOPs of the multiply-accumulates of one layer call, given its concrete output shape:
 * conv (`Conv2D`, `AtrousConv2D`): 2·k_h·k_w·C_in·C_out per output position; depthwise: 2·k_h·k_w·C_in·mult;
 * `Dense`: 2·in·units per output row. Everything else (BN, ReLU, pooling, adds, resizes) counts 0.
 */
function layerFlops(layer: Layer, outShape: number[]): number {
  const cls = layer.getClassName();
  const positions = outShape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (cls === 'Conv2D' || cls === 'AtrousConv2D') {
    const [kh, kw, ci, co] = kernelShape(layer, ['kernel']);
    return 2 * kh * kw * ci * co * positions;
  }
  if (cls === 'DepthwiseConv2D') {
    const [kh, kw, ci, m] = kernelShape(layer, ['depthwise_kernel']);
    return 2 * kh * kw * ci * m * positions;
  }
  if (cls === 'Dense') {
    const [i, o] = kernelShape(layer, ['kernel']);
    return 2 * i * o * positions;
  }
  return 0;
}

function walk(
  model: LayersModel,
  inputShapes: Shape[],
  byLayer: Record<string, number>,
): { outputs: Shape[]; total: number } {
  const shapes = new Map<number, Shape>();
  for (const [i, t] of model.inputs.entries()) shapes.set(t.id, inputShapes[i]);
  const done = new Set<string>();
  let total = 0;
  let progress = true;
  while (progress) {
    progress = false;
    for (const layer of model.layers) {
      layer.inboundNodes.forEach((node, ni) => {
        const key = `${layer.name}#${ni}`;
        const ins = node.inputTensors as SymbolicTensor[];
        if (done.has(key) || ins.length === 0 || !ins.every((t) => shapes.has(t.id))) return;
        const inShapes = ins.map((t) => shapes.get(t.id)!);
        let outs: Shape[];
        if (layer instanceof LayersModel) {
          const r = walk(layer, inShapes, byLayer);
          total += r.total;
          outs = r.outputs;
        } else {
          const o = layer.computeOutputShape(inShapes.length === 1 ? inShapes[0] : inShapes) as Shape | Shape[];
          outs = Array.isArray(o[0]) ? (o as Shape[]) : [o as Shape];
          const f = layerFlops(layer, known(outs[0], layer.name));
          if (f > 0) {
            byLayer[layer.name] = (byLayer[layer.name] ?? 0) + f;
            total += f;
          }
        }
        (node.outputTensors as SymbolicTensor[]).forEach((t, i) => {
          shapes.set(t.id, outs[i]);
        });
        done.add(key);
        progress = true;
      });
    }
  }
  const outputs = model.outputs.map((t) => {
    const s = shapes.get(t.id);
    if (!s) throw new Error(`countFlops: could not propagate shapes to output '${t.name}' of '${model.name}'`);
    return s;
  });
  return { outputs, total };
}

/**
 * Counts the FLOPs of one forward pass of a model or net by walking its layer graph (nested models and shared
 * layers included, each call counted) with concrete shapes. Convolutions cost 2·k·k·C_in·C_out per output position,
 * dense layers 2·in·out; other layers are not counted. `inputShape` is `[H, W, C]` (batch 1) or `[N, H, W, C]`.
 */
export function countFlops(m: ModelLike, inputShape: number[]): FlopCount {
  const model = modelOf(m);
  if (model.inputs.length !== 1) throw new Error('countFlops: only single-input models are supported');
  const shape = inputShape.length === 3 ? [1, ...inputShape] : inputShape;
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`countFlops: inputShape must be [H, W, C] or [N, H, W, C] positive integers, got [${inputShape}]`);
  }
  const byLayer: Record<string, number> = {};
  const { total } = walk(model, [shape], byLayer);
  const [n, h, w] = shape;
  return { total, perImage: total / n, perPixel: total / (n * h * w), byLayer, params: model.countParams() };
}
