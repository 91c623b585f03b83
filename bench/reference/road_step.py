"""PyTorch reference of the ROAD-Net training step on road-lite (bench/run.mjs compares it with @road/trainer's).

Mirrors @road/backbone's road-lite (packages/backbone/src/nets/road-lite.ts) layer by layer, same names:
  stem      3x3/2 conv 3->16 (no bias) + BN + ReLU                       stride 2
  block2_1  3x3/2 conv 16->32 + BN + ReLU; block2_2 3x3 conv 32->32 + BN + ReLU      stride 4
  block3_1  3x3/2 conv 32->64 + BN + ReLU; block3_2 3x3 conv 64->64 + BN + ReLU      stride 8
  block4_1  3x3 conv 64->64 dilation 2 + BN + ReLU; block4_2 dilation 4 + BN + ReLU  stride 8 -> features (64 ch)
  head      head_1 1x1 conv 64->64 (no bias) + BN + ReLU; head_logits 1x1 conv 64->classes (bias)
BN as Keras' defaults (eps 1e-3, momentum 0.99 == PyTorch momentum 0.01); He-normal kernels. Padding: PyTorch's
symmetric padding=dilation (Keras 'same' pads stride-2 convs bottom/right only: same shapes, same cost).
Default shapes = the trainer's demo config: 4 source + 4 target crops of 64x128 from 80x160 SynthCity images.

Run alone:  /usr/bin/python3 bench/reference/road_step.py [--warmup 3 --reps 10 --threads N] [--device cuda]   (prints JSON)
"""

import os
import sys

import torch.nn as nn
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from road_common import parse_args, run  # noqa: E402


def conv_bn_relu(name, cin, cout, k=3, stride=1, dilation=1):
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation, bias=False)
    nn.init.kaiming_normal_(conv.weight, nonlinearity='relu')
    return [(f'{name}_conv', conv), (f'{name}_bn', nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)), (f'{name}_relu', nn.ReLU(inplace=True))]


class RoadLite(nn.Module):
    def __init__(self, num_classes, width=(16, 32, 64, 64)):
        super().__init__()
        c1, c2, c3, c4 = width
        layers = []
        layers += conv_bn_relu('stem', 3, c1, stride=2)
        layers += conv_bn_relu('block2_1', c1, c2, stride=2)
        layers += conv_bn_relu('block2_2', c2, c2)
        layers += conv_bn_relu('block3_1', c2, c3, stride=2)
        layers += conv_bn_relu('block3_2', c3, c3)
        layers += conv_bn_relu('block4_1', c3, c4, dilation=2)
        layers += conv_bn_relu('block4_2', c4, c4, dilation=4)
        self.backbone = nn.Sequential(OrderedDict(layers))
        logits = nn.Conv2d(c4, num_classes, 1, bias=True)
        nn.init.kaiming_normal_(logits.weight, nonlinearity='relu')
        nn.init.zeros_(logits.bias)
        self.head = nn.Sequential(OrderedDict(conv_bn_relu('head_1', c4, c4, k=1) + [('head_logits', logits)]))
        self.feature_channels = c4

    def forward(self, x):
        return self.head(self.backbone(x))


if __name__ == '__main__':
    args = parse_args(
        __doc__.split('\n')[0],
        dict(warmup=3, reps=10, source_batch=4, target_batch=4, height=64, width=128, full_height=80, full_width=160, flip=1),
    )
    run('road-step:road-lite', RoadLite, lambda net: net.feature_channels, args)
