import { checkOptionKeys, type NetArchitecture, type SegmentationNetOptions } from '../net-architecture.js';
import { NetBuilder } from '../net-builder.js';

const call = NetBuilder.call;

/** Input side the `dann-digits` net is made for (MNIST / MNIST-M digits). */
export const DANN_DIGITS_INPUT = 28;
/** Length of the `dann-digits` feature vector (4 × 4 × 48), the input of the DANN domain head. */
export const DANN_DIGITS_FEATURES = 768;

/**
 * `dann-digits`: the MNIST → MNIST-M net of the DANN paper (Ganin & Lempitsky, ICML 2015 / Ganin et al., JMLR 2016,
 * Fig. 4 / Appendix): conv 5×5-32 → ReLU → max-pool 2×2 → conv 5×5-48 → ReLU → max-pool 2×2 (features: 4×4×48 = 768
 * for a 28×28 input) → fc100 → ReLU → fc100 → ReLU → fc10. Convolutions are `valid`, no batch norm.
 *
 * To stay a registry net (NHWC in, logits at feature resolution out) the fully connected layers are convolutions: fc1
 * is a 4×4 `valid` convolution over the 4×4×48 features (exactly a dense layer on their HWC flattening), fc2 and the
 * logits are 1×1 convolutions, so a 28×28 image gives logits of shape [N, 1, 1, 10]. Other input sizes are refused by
 * the shapes (the head needs a 4×4 feature map). Weights start He-uniform (U(±√(6/fan_in)), the same fan-in for fc1 as a
 * dense layer on 768 inputs), biases at zero.
 * The DANN domain head (fc100 → ReLU → fc1 on the 768 flattened features) is @road/dann's `mlpDomainClassifier`.
 * Options: `numClasses` (10 for digits), `inputChannels`; `widthMultiplier`, `outputStride` and attention are refused.
 */
export function dannDigits(options: SegmentationNetOptions): NetArchitecture {
  checkOptionKeys('dann-digits', options, []);
  if (options.widthMultiplier !== undefined && options.widthMultiplier !== 1) {
    throw new Error(
      `dann-digits: widthMultiplier is not supported (the paper's widths), got ${options.widthMultiplier}`,
    );
  }
  if (options.outputStride !== undefined && options.outputStride !== 4) {
    throw new Error(`dann-digits: outputStride must be 4, got ${options.outputStride}`);
  }
  if ((options.attention ?? 'none') !== 'none') throw new Error('dann-digits: attention is not supported');
  const conv = (b: NetBuilder, name: string, filters: number, kernelSize: number, relu: boolean) =>
    b.conv(name, { filters, kernelSize, padding: 'valid', activation: relu ? 'relu' : 'linear' });
  return {
    stages: [
      (x, b) => call(b.maxPool('pool1', 2, 2), call(conv(b, 'conv1', 32, 5, true), x)),
      (x, b) => call(b.maxPool('pool2', 2, 2), call(conv(b, 'conv2', 48, 5, true), x)),
    ],
    head: (f, b) => {
      const h1 = call(conv(b, 'fc1', 100, 4, true), f);
      const h2 = call(conv(b, 'fc2', 100, 1, true), h1);
      return call(conv(b, 'fc3', options.numClasses, 1, false), h2);
    },
    outputStride: 4,
    featureChannels: 48,
    batchNorm: false,
    attentionSource: 2,
    initializer: 'heUniform',
  };
}
