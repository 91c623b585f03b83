import * as tf from '@tensorflow/tfjs-core';

/** A 4-conv segmentation net small enough for a self-check on any backend. */
export interface TinySegNet {
  /** Trainable weights, in layer order. */
  readonly variables: tf.Variable[];
  /** Logits [N, H, W, classes] for images [N, H, W, inChannels] (H, W even). */
  apply(images: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/**
 * conv 3×3 stride 2 → ReLU → batch norm (batch statistics, learned γ/β) → conv 3×3 → ReLU →
 * bilinear ×2 upsampling → conv 3×3 → ReLU → conv 1×1 → class logits. The layers a ROAD
 * segmentation step exercises, at toy size: strided conv, normalisation, upsampling, per-pixel
 * classifier. Weights: He-uniform from a seed.
 */
export function createTinySegNet(
  options: { inChannels?: number; classes?: number; width?: number; seed?: number } = {},
): TinySegNet {
  const { inChannels = 3, classes = 4, width = 8, seed = 1 } = options;
  // tf.variable keeps its initial value's buffer: make the initial values inside tidy so that only
  // the variables survive.
  const variables = tf.tidy(() => {
    const conv = (k: number, ci: number, co: number, s: number, name: string) => {
      const limit = Math.sqrt(6 / (k * k * ci));
      return tf.variable(tf.randomUniform([k, k, ci, co], -limit, limit, 'float32', s), true, name);
    };
    const vector = (c: number, value: number, name: string) => tf.variable(tf.fill([c], value), true, name);
    return [
      conv(3, inChannels, width, seed, 'tiny/conv1/w'),
      vector(width, 0, 'tiny/conv1/b'),
      vector(width, 1, 'tiny/bn/gamma'),
      vector(width, 0, 'tiny/bn/beta'),
      conv(3, width, width, seed + 1, 'tiny/conv2/w'),
      vector(width, 0, 'tiny/conv2/b'),
      conv(3, width, width, seed + 2, 'tiny/conv3/w'),
      vector(width, 0, 'tiny/conv3/b'),
      conv(1, width, classes, seed + 3, 'tiny/conv4/w'),
      vector(classes, 0, 'tiny/conv4/b'),
    ];
  });
  const [w1, b1, gamma, beta, w2, b2, w3, b3, w4, b4] = variables;
  return {
    variables,
    apply(images) {
      if (images.shape[3] !== inChannels) {
        throw new Error(`TinySegNet: images have ${images.shape[3]} channels, the net takes ${inChannels}`);
      }
      return tf.tidy(() => {
        const [, h, w] = images.shape;
        let y = tf.relu(tf.add(tf.conv2d(images, w1 as tf.Tensor4D, 2, 'same'), b1)) as tf.Tensor4D;
        const { mean, variance } = tf.moments(y, [0, 1, 2]);
        y = tf.batchNorm(y, mean, variance, beta, gamma, 1e-3) as tf.Tensor4D;
        y = tf.relu(tf.add(tf.conv2d(y, w2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D;
        y = tf.image.resizeBilinear(y, [h, w]);
        y = tf.relu(tf.add(tf.conv2d(y, w3 as tf.Tensor4D, 1, 'same'), b3)) as tf.Tensor4D;
        return tf.add(tf.conv2d(y, w4 as tf.Tensor4D, 1, 'same'), b4) as tf.Tensor4D;
      });
    },
    dispose() {
      tf.dispose(variables);
    },
  };
}

/**
 * A fixed toy segmentation batch: smooth random images [n, h, w, 3] and labels that a small conv
 * net can learn (class = which of `classes` bands the local mean of channel 0 falls in), with a
 * border of `ignoreLabel` pixels. Deterministic for a seed.
 */
export function toySegmentationBatch(
  options: { n?: number; h?: number; w?: number; classes?: number; seed?: number; ignoreLabel?: number } = {},
): { images: tf.Tensor4D; labels: tf.Tensor3D } {
  const { n = 2, h = 16, w = 16, classes = 4, seed = 7, ignoreLabel = 255 } = options;
  return tf.tidy(() => {
    const noise = tf.randomUniform([n, h, w, 3], -1, 1, 'float32', seed) as tf.Tensor4D;
    const images = tf.avgPool(noise, 3, 1, 'same') as tf.Tensor4D;
    const c0 = tf.squeeze(tf.slice(images, [0, 0, 0, 0], [n, h, w, 1]), [3]);
    const lo = tf.min(c0);
    const hi = tf.max(c0);
    const band = tf.cast(tf.floor(tf.mul(tf.div(tf.sub(c0, lo), tf.add(tf.sub(hi, lo), 1e-6)), classes)), 'int32');
    const rows = tf.reshape(tf.range(0, h, 1, 'int32'), [1, h, 1]);
    const cols = tf.reshape(tf.range(0, w, 1, 'int32'), [1, 1, w]);
    const border = tf.logicalOr(
      tf.logicalOr(tf.equal(rows, 0), tf.equal(rows, h - 1)),
      tf.logicalOr(tf.equal(cols, 0), tf.equal(cols, w - 1)),
    );
    const labels = tf.where(
      tf.broadcastTo(border, [n, h, w]),
      tf.fill([n, h, w], ignoreLabel, 'int32'),
      band,
    ) as tf.Tensor3D;
    return { images, labels };
  });
}
