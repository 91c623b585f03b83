import * as tf from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';

const CONV_ATTRS = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined };

/**
 * y = relu(conv2d(x, w) + b) (stride 1, `same` padding, NHWC) as ONE differentiable op: the forward pass runs the
 * backend's `FusedConv2D` kernel and keeps only x, w and y for the backward pass, which is
 *
 *   g = dy ⊙ 1[y > 0],   ∂L/∂x = conv2dBackpropInput(g, w),   ∂L/∂w = conv2dBackpropFilter(x, g),   ∂L/∂b = Σ_{n,i,j} g.
 *
 * Why: under a gradient tape tfjs 4.22's `tf.fused.conv2d` (which tfjs-layers' Conv2D calls) does not fuse a ReLU:
 * it runs conv2d, add and relu as three ops, and the add keeps its conv2d input (a full activation) alive for its
 * gradient, which only needs shapes. Here each conv block keeps one activation-sized tensor (y, also the next
 * layer's x) instead of two. The gradient uses the same kernels as the unfused path (relu′ from y, as
 * `@road/backend`'s Relu gradient); the forward differs from conv → add → relu by float32 rounding only (the bias is
 * added inside the kernel) and equals inference, where tfjs fuses anyway.
 *
 * @param x input [N, H, W, C_in] (float32).
 * @param filter [k_h, k_w, C_in, C_out].
 * @param bias [C_out].
 */
export function conv2dBiasRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  if (x.rank !== 4 || filter.rank !== 4 || bias.rank !== 1) {
    throw new Error(
      `conv2dBiasRelu: expected x rank 4, filter rank 4, bias rank 1; got [${x.shape}], [${filter.shape}], [${bias.shape}]`,
    );
  }
  if (x.shape[3] !== filter.shape[2] || bias.shape[0] !== filter.shape[3]) {
    throw new Error(`conv2dBiasRelu: x [${x.shape}], filter [${filter.shape}] and bias [${bias.shape}] do not fit`);
  }
  const op = tf.customGrad(((xx: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, save: (ts: tf.Tensor[]) => void) => {
    const y = tf.engine().runKernel(tf.FusedConv2D, { x: xx, filter: w, bias: b }, {
      ...CONV_ATTRS,
      activation: 'relu',
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    save([xx, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const g = tf.mul(dy, tf.step(sy)) as tf.Tensor4D;
        const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter: sw }, {
          ...CONV_ATTRS,
          inputShape: sx.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: sx, dy: g }, {
          ...CONV_ATTRS,
          filterShape: sw.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const db = tf.reshape(tf.sum(g, [0, 1, 2]), [sw.shape[3]]);
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter, bias) as tf.Tensor4D;
}

/** What {@link fuseConvRelu} reads of a tfjs-layers Conv2D (fields that tfjs-layers 4.22 keeps on the instance). */
interface ConvInternals {
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  kernel?: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor };
  getConfig(): Record<string, unknown>;
}

/**
 * Makes a tfjs-layers `Conv2D` layer with ReLU, bias, stride 1, dilation 1, `same` padding and channels-last
 * compute through {@link conv2dBiasRelu}. Its class, config, serialisation and weights (`kernel`, `bias`, Keras
 * names and shapes) stay those of the stock layer, so saved models and Keras weight import are unchanged; only how
 * its output (and gradient) is computed changes. Throws when the layer is not such a conv.
 */
export function fuseConvRelu<L extends layers.Layer>(layer: L): L {
  const conv = layer as unknown as ConvInternals;
  const c = conv.getConfig();
  const ones = (v: unknown) => (Array.isArray(v) ? v : [v]).every((e) => e === 1);
  const ok =
    c.activation === 'relu' &&
    c.useBias === true &&
    c.padding === 'same' &&
    ones(c.strides) &&
    ones(c.dilationRate) &&
    (c.dataFormat === 'channelsLast' || c.dataFormat == null);
  if (!ok) {
    throw new Error(
      `fuseConvRelu: layer '${layer.name}' is not a stride-1, dilation-1, 'same', channels-last Conv2D with bias and ReLU`,
    );
  }
  conv.call = (inputs) =>
    tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (conv.kernel == null || conv.bias == null) throw new Error(`fuseConvRelu: layer '${layer.name}' is not built`);
      return conv2dBiasRelu(x, conv.kernel.read() as tf.Tensor4D, conv.bias.read() as tf.Tensor1D);
    });
  return layer;
}
