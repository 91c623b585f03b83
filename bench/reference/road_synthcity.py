"""PyTorch twin of `road bench synthcity`: the ROAD ablation on the same dumped SynthCity images.

Input: a folder written by @road/trainer's `dumpSynthCity` (apps/trainer/src/bench-synthcity-dump.ts): raw uint8 files
and a manifest.json naming, per split, `images` (N x H x W x 3, RGB) and, for labelled splits, `labels` (N x H x W,
Cityscapes train ids, 255 = ignore), plus the recipe (`recipe`) and the SynthCity class ids (`classIds`).

Same recipe as the Node side (apps/trainer/src/demo.ts DEMO_RECIPE.full, apps/trainer/src/pretrain.ts):
- net: road-lite (bench/reference/road_step.py RoadLite), He-normal kernels, BN as Keras (eps 1e-3, momentum 0.01);
- input: RGB / 255, minus the ImageNet mean, over the ImageNet std;
- teacher on the `neutral` pool (recipe.pretrain.task): supervised segmentation on its labels (softmax CE, ignore 255),
  or the rotation pretext (each image at 0/90/180/270 degrees, 4-way CE on the spatially averaged logits); Adam (tfjs
  defaults: eps 1e-7), random square crops + horizontal flips, BN in training mode;
- students: backbone initialised from the teacher; BN frozen (moving statistics of the init used and kept; scale and
  shift learn); Adam with the poly schedule lr * (1 - p)^0.9, p = (step - 1) / steps; source and target random crops
  with flips; one backbone forward of cat(source, target); L = L_seg + l_dst * L_dst + l_spt * L_spt with
  L_dst = mean over target positions of the squared L2 over channels to the frozen teacher's features and L_spt the
  region-wise DANN loss of bench/reference/road_common.py (gradient reversal with the DANN ramp, grid over the full
  image, crops carry their offsets and flips);
- evaluation: whole target-test images, bilinear upsampling of the logits, mIoU over the SynthCity classes.

Prints one JSON object on stdout: {"seeds": [...], "miou": {preset: [per seed]}, "seconds": {preset: [...]}, ...}.
Run: /usr/bin/python3 bench/reference/road_synthcity.py --data DIR [--seeds 1] [--presets source-only,road]
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from road_common import dann_lambda, domain_classifier, region_index, spatial_loss, unflip  # noqa: E402
from road_step import RoadLite  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
PRESETS = {
    'source-only': dict(dst=False, spt=False, oracle=False),
    'dst': dict(dst=True, spt=False, oracle=False),
    # sptFeatures 'l2' (the trainer's default): the region classifiers see x / sqrt(sum_c x^2 + 1e-12).
    'spt': dict(dst=False, spt=True, oracle=False, l2=True),
    'road': dict(dst=True, spt=True, oracle=False, l2=True),
    'oracle': dict(dst=False, spt=False, oracle=True),
}


def l2_channels(x):
    """[N, C, H, W] -> each position's channel vector over its L2 norm (the trainer's l2NormalizeChannels)."""
    return x / torch.sqrt(x.pow(2).sum(1, keepdim=True) + 1e-12)


def load(data_dir):
    """Reads the dump; a missing or short file is one error naming it."""
    path = os.path.join(data_dir, 'manifest.json')
    if not os.path.isfile(path):
        raise SystemExit(f'road_synthcity.py: no manifest.json in {data_dir}')
    with open(path) as f:
        manifest = json.load(f)
    out = {}
    for key, s in manifest['splits'].items():
        n, h, w = s['shape'][:3]
        item = {}
        for part, shape in (('images', (n, h, w, 3)), ('labels', (n, h, w))):
            if part not in s:
                continue
            file = os.path.join(data_dir, s[part])
            want = int(np.prod(shape))
            if not os.path.isfile(file) or os.path.getsize(file) != want:
                raise SystemExit(f'road_synthcity.py: {file} missing or not {want} bytes ({key} {part} {list(shape)})')
            item[part] = torch.from_numpy(np.fromfile(file, dtype=np.uint8).reshape(shape))
        out[key] = item
    return manifest, out


def normalize(u8):
    """[N, H, W, 3] uint8 -> [N, 3, H, W] float, ImageNet normalisation."""
    x = u8.permute(0, 3, 1, 2).float() / 255.0
    return (x - MEAN) / STD


class Stream:
    """Random crops with flips from one split, epoch-wise shuffled (seeded)."""

    def __init__(self, split, batch, crop, rng):
        self.split, self.batch, self.crop, self.rng = split, batch, crop, rng
        self.n = split['images'].shape[0]
        self.order, self.at = [], 0

    def next(self):
        h, w = self.split['images'].shape[1:3]
        ch, cw = self.crop
        xs, ys, crops = [], [], []
        for _ in range(self.batch):
            if self.at >= len(self.order):
                self.order = list(range(self.n))
                self.rng.shuffle(self.order)
                self.at = 0
            i = self.order[self.at]
            self.at += 1
            top, left = self.rng.randint(0, h - ch), self.rng.randint(0, w - cw)
            flip = self.rng.random() < 0.5
            x = self.split['images'][i, top : top + ch, left : left + cw]
            y = self.split['labels'][i, top : top + ch, left : left + cw] if 'labels' in self.split else None
            if flip:
                x = torch.flip(x, dims=[1])
                y = torch.flip(y, dims=[1]) if y is not None else None
            xs.append(x)
            ys.append(y)
            crops.append((top, left, ch, cw, h, w, flip))
        labels = torch.stack(ys).long() if ys[0] is not None else None
        return normalize(torch.stack(xs)), labels, crops


def adam(params, lr):
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)


def pretrain_teacher(data, recipe, seed):
    """The teacher on the neutral pool (apps/trainer/src/pretrain.ts): rotation pretext, or supervised segmentation."""
    torch.manual_seed(seed)
    task = recipe.get('task', 'rotation')
    net = RoadLite(19 if task == 'segmentation' else 4)
    net.train()
    opt = adam(net.parameters(), recipe['lr'])
    stream = Stream(data['neutral'], recipe['batch'], (recipe['crop'], recipe['crop']), random.Random(seed * 7919 + 3))
    if task == 'segmentation':
        if 'labels' not in data['neutral']:
            raise SystemExit('road_synthcity.py: pretrain task segmentation needs the neutral labels in the dump')
        accs = []
        for step in range(recipe['steps']):
            x, y, _ = stream.next()
            z = F.interpolate(net(x), size=y.shape[1:], mode='bilinear', align_corners=False)
            loss = F.cross_entropy(z, y, ignore_index=255)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step >= 0.8 * recipe['steps']:
                ok = y != 255
                accs.append((z.argmax(1)[ok] == y[ok]).float().mean().item())
        return net, sum(accs) / max(1, len(accs))
    n = recipe['batch']
    labels = torch.arange(4).repeat_interleave(n)
    correct = []
    for step in range(recipe['steps']):
        x, _, _ = stream.next()
        views = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)], 0)
        pooled = net(views).mean(dim=(2, 3))
        loss = F.cross_entropy(pooled, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= 0.8 * recipe['steps']:
            correct.append((pooled.argmax(1) == labels).float().mean().item())
    return net, sum(correct) / max(1, len(correct))


def freeze_bn(module):
    """BN 'frozen': moving statistics used and kept (eval mode), scale and shift still learn."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def evaluate(net, split, class_ids, num_classes=19, batch=25):
    net.eval()
    conf = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    with torch.no_grad():
        for i in range(0, split['images'].shape[0], batch):
            x = normalize(split['images'][i : i + batch])
            y = split['labels'][i : i + batch].long()
            z = F.interpolate(net(x), size=y.shape[1:], mode='bilinear', align_corners=False)
            pred = z.argmax(1)
            ok = y != 255
            conf += torch.bincount(y[ok] * num_classes + pred[ok], minlength=num_classes**2).view(num_classes, -1)
    tp = conf.diag().double()
    union = conf.sum(0).double() + conf.sum(1).double() - tp
    ious = [(tp[c] / union[c]).item() for c in class_ids if union[c] > 0]
    return sum(ious) / max(1, len(ious))


def train(preset, data, teacher_net, recipe, lambdas, grid, seed, class_ids):
    cfg = PRESETS[preset]
    torch.manual_seed(seed)
    rng = random.Random(seed)
    student = RoadLite(19)
    student.backbone.load_state_dict(teacher_net.backbone.state_dict())
    teacher = teacher_net.backbone
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    classifiers = nn.ModuleList(domain_classifier(64, 64) for _ in range(grid[0] * grid[1]))
    params = list(student.parameters()) + (list(classifiers.parameters()) if cfg['spt'] else [])
    opt = adam(params, recipe['lr'])
    student.train()
    freeze_bn(student)
    sup = data['target-train'] if cfg['oracle'] else data['source']
    src = Stream(sup, recipe['batchSource'], recipe['crop'], random.Random(rng.random()))
    tgt = Stream(data['target-train'], recipe['batchTarget'], recipe['crop'], random.Random(rng.random()))
    steps = recipe['steps']
    use_t = cfg['dst'] or cfg['spt']
    for k in range(1, steps + 1):
        p = min(1.0, max(0.0, (k - 1) / steps))
        for g in opt.param_groups:
            g['lr'] = recipe['lr'] * (1 - p) ** 0.9
        xs, ys, cs = src.next()
        if use_t:
            xt, _, ct = tgt.next()
            both = student.backbone(torch.cat([xs, xt], 0))
            sf, tf_ = both[: xs.shape[0]], both[xs.shape[0] :]
        else:
            sf = student.backbone(xs)
        logits = F.interpolate(student.head(sf), size=ys.shape[1:], mode='bilinear', align_corners=False)
        loss = F.cross_entropy(logits, ys, ignore_index=255)
        if cfg['dst']:
            with torch.no_grad():
                t_feat = teacher(xt)
            loss = loss + lambdas['dst'] * (tf_ - t_feat).pow(2).sum(1).mean()
        if cfg['spt']:
            fh, fw = sf.shape[2:]
            idx_s = region_index(xs.shape[0], fh, fw, cs, grid)
            idx_t = region_index(xt.shape[0], fh, fw, ct, grid)
            ds, dt = (l2_channels(sf), l2_channels(tf_)) if cfg.get('l2') else (sf, tf_)
            spt, _ = spatial_loss(classifiers, unflip(ds, cs), unflip(dt, ct), idx_s, idx_t, dann_lambda(p))
            loss = loss + lambdas['spt'] * spt
        if not math.isfinite(loss.item()):
            return float('nan')
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return evaluate(student, data['target-test'], class_ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True)
    ap.add_argument('--seeds', default='1', help='comma-separated training seeds')
    ap.add_argument('--presets', default='source-only,road')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    manifest, data = load(args.data)
    recipe = manifest['recipe']
    presets = [p.strip() for p in args.presets.split(',') if p.strip()]
    for p in presets:
        if p not in PRESETS:
            raise SystemExit(f'road_synthcity.py: unknown preset {p!r} (known: {", ".join(PRESETS)})')
    seeds = [int(s) for s in args.seeds.split(',')]
    out = {'seeds': seeds, 'miou': {p: [] for p in presets}, 'seconds': {p: [] for p in presets}, 'teacherAccuracy': []}
    t_all = time.time()
    for seed in seeds:
        t0 = time.time()
        teacher, acc = pretrain_teacher(data, recipe['pretrain'], seed)
        out['teacherAccuracy'].append(acc)
        print(f'road_synthcity.py: seed {seed} teacher accuracy {100 * acc:.1f}% ({time.time() - t0:.0f} s)', file=sys.stderr)
        for p in presets:
            t0 = time.time()
            m = train(p, data, teacher, recipe['train'], recipe['lambda'], tuple(recipe['grid']), seed, manifest['classIds'])
            out['miou'][p].append(m)
            out['seconds'][p].append(time.time() - t0)
            print(f'road_synthcity.py: seed {seed} {p}: mIoU {100 * m:.1f} ({time.time() - t0:.0f} s)', file=sys.stderr)
    out['wallSeconds'] = time.time() - t_all
    out['torch'] = torch.__version__
    print(json.dumps(out))


if __name__ == '__main__':
    main()
