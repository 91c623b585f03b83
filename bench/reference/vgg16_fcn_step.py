"""PyTorch reference of the ROAD-Net training step on vgg16-fcn at 320x640 (bench/run.mjs compares it with ours).

Mirrors @road/backbone's vgg16-fcn with its defaults (packages/backbone/src/nets/vgg16-fcn.ts), same names:
  block1..block5 = VGG16 configuration D (3x3 convs with bias + ReLU: 64,64 | 128,128 | 256x3 | 512x3 | 512x3),
  2x2/2 max pools after blocks 1-4 (output stride 16: block5_pool dropped) -> features (512 ch, stride 16);
  head: fc6 3x3 conv 512->1024 + ReLU + dropout 0.5, fc7 1x1 conv 1024->1024 + ReLU + dropout 0.5,
  score 1x1 conv 1024->classes. Glorot-uniform kernels, zero biases.
Default shapes: 1 source + 1 target image of 320x640 (whole image: no crop), region classifier hidden 256.

Run alone:  /usr/bin/python3 bench/reference/vgg16_fcn_step.py [--warmup 1 --reps 3 --threads N] [--device cuda]   (prints JSON)
"""

import os
import sys

import torch.nn as nn
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from road_common import parse_args, run  # noqa: E402

VGG16_BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def conv(cin, cout, k):
    c = nn.Conv2d(cin, cout, k, padding=k // 2, bias=True)
    nn.init.xavier_uniform_(c.weight)
    nn.init.zeros_(c.bias)
    return c


class Vgg16Fcn(nn.Module):
    def __init__(self, num_classes, output_stride=16, head_channels=1024, fc6_kernel=3, dropout=0.5):
        super().__init__()
        pools = {32: 5, 16: 4, 8: 3}[output_stride]
        layers, cin = [], 3
        for bi, widths in enumerate(VGG16_BLOCKS):
            block = bi + 1
            for ci, c in enumerate(widths):
                dil = 2 if output_stride == 8 and block == 5 else 1
                cv = nn.Conv2d(cin, c, 3, padding=dil, dilation=dil, bias=True)
                nn.init.xavier_uniform_(cv.weight)
                nn.init.zeros_(cv.bias)
                layers += [(f'block{block}_conv{ci + 1}', cv), (f'block{block}_relu{ci + 1}', nn.ReLU(inplace=True))]
                cin = c
            if block <= pools:
                layers.append((f'block{block}_pool', nn.MaxPool2d(2, 2)))
        self.backbone = nn.Sequential(OrderedDict(layers))
        head = [('fc6', conv(512, head_channels, fc6_kernel)), ('fc6_relu', nn.ReLU(inplace=True))]
        if dropout > 0:
            head.append(('fc6_dropout', nn.Dropout(dropout)))
        head += [('fc7', conv(head_channels, head_channels, 1)), ('fc7_relu', nn.ReLU(inplace=True))]
        if dropout > 0:
            head.append(('fc7_dropout', nn.Dropout(dropout)))
        head.append(('score', conv(head_channels, num_classes, 1)))
        self.head = nn.Sequential(OrderedDict(head))
        self.feature_channels = 512

    def forward(self, x):
        return self.head(self.backbone(x))


if __name__ == '__main__':
    args = parse_args(
        __doc__.split('\n')[0],
        dict(warmup=1, reps=3, source_batch=1, target_batch=1, height=320, width=640, full_height=320, full_width=640, flip=0),
    )
    run('road-step:vgg16-fcn', Vgg16Fcn, lambda net: net.feature_channels, args)
