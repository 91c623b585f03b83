"""How big is SynthCity's domain gap? Trains the same small fully-convolutional net (PyTorch, CPU) on the source
split and, as an oracle, on target-train labels; evaluates mIoU over the 8 SynthCity classes on target-val (and on
held-out source images). A measurement of the benchmark, not part of any method.

    node packages/datasets/bench/synthcity-dump.mjs /tmp/sc-dump 400
    /usr/bin/python3 packages/datasets/bench/synthcity_gap.py /tmp/sc-dump [epochs=6]
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = [0, 1, 2, 5, 8, 10, 11, 13]
NAMES = ['road', 'sidewalk', 'building', 'pole', 'vegetation', 'sky', 'person', 'car']
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)

root = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 6
meta = json.load(open(f'{root}/meta.json'))
H, W = meta['height'], meta['width']
torch.manual_seed(0)
torch.set_num_threads(2)


def load(split):
    n = meta['sizes'][split]
    x = np.fromfile(f'{root}/{split}.images.u8', np.uint8).reshape(n, H, W, 3).astype(np.float32) / 255
    y = np.fromfile(f'{root}/{split}.labels.u8', np.uint8).reshape(n, H, W).astype(np.int64)
    x = torch.from_numpy(((x - MEAN) / STD).transpose(0, 3, 1, 2).copy())
    return x, torch.from_numpy(y)


def net():
    def block(i, o, s=1, d=1):
        return nn.Sequential(nn.Conv2d(i, o, 3, s, padding=d, dilation=d), nn.BatchNorm2d(o), nn.ReLU())
    return nn.Sequential(block(3, 32, 2), block(32, 64, 2), block(64, 64, 1, 2), block(64, 96, 1, 4),
                         block(96, 96, 1, 2), nn.Conv2d(96, 19, 1))


def miou(model, x, y):
    model.eval()
    conf = torch.zeros(19, 19, dtype=torch.int64)
    with torch.no_grad():
        for k in range(0, len(x), 32):
            logits = F.interpolate(model(x[k:k + 32]), size=(H, W), mode='bilinear', align_corners=False)
            p = logits.argmax(1).flatten()
            t = y[k:k + 32].flatten()
            m = t != 255
            conf += torch.bincount(t[m] * 19 + p[m], minlength=361).reshape(19, 19)
    iou = []
    for c in CLASSES:
        tp = conf[c, c].item()
        den = conf[c, :].sum().item() + conf[:, c].sum().item() - tp
        iou.append(tp / den if den else float('nan'))
    return float(np.nanmean(iou)), iou


def train(x, y):
    model = net()
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for k in range(0, len(x), 16):
            idx = perm[k:k + 16]
            logits = F.interpolate(model(x[idx]), size=(H, W), mode='bilinear', align_corners=False)
            loss = F.cross_entropy(logits, y[idx], ignore_index=255)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


src_x, src_y = load('source')
tt_x, tt_y = load('target-train')
tv_x, tv_y = load('target-val')
n_hold = len(src_x) // 5
t0 = time.time()
source_only = train(src_x[n_hold:], src_y[n_hold:])
oracle = train(tt_x, tt_y)
res = {
    'source_only_on_source_heldout': miou(source_only, src_x[:n_hold], src_y[:n_hold]),
    'source_only_on_target_val': miou(source_only, tv_x, tv_y),
    'oracle_on_target_val': miou(oracle, tv_x, tv_y),
}
for k, (m, iou) in res.items():
    print(f'{k:34s} mIoU8 {100 * m:5.1f}  ' + ' '.join(f'{n}:{100 * v:.0f}' for n, v in zip(NAMES, iou)))
print(f'epochs {epochs}, {len(src_x) - n_hold} source / {len(tt_x)} target-train images, {time.time() - t0:.0f}s')
