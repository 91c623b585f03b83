"""Shared part of the PyTorch reference ROAD-Net training steps (bench/reference/road_step.py, vgg16_fcn_step.py).

It mirrors @road/trainer's `createTrainStep` (apps/trainer/src/train-step.ts) term by term:

  L = L_seg(source) + lambda_dst * L_dst(student(target), teacher(target)) + lambda_spt * L_spt(source, target)

- one student backbone forward on cat(source, target) in training mode (batch norm sees both domains);
- L_seg: head on the source features, bilinear upsampling (align_corners=False) to the label size, softmax
  cross-entropy with ignore_index=255, mean over valid pixels;
- L_dst: squared L2 distance over channels between the student's target features and a frozen teacher copy's
  (eval mode, no grad), averaged over positions (@road/distill targetGuidedDistillation);
- L_spt: gradient reversal (DANN ramp lambda_p) on both feature maps, positions assigned to a grid of regions of the
  full image by their crop coordinates (@road/dann regionAssignment, mirrored crops un-flipped first), one domain
  classifier per region (1x1 conv C -> hidden -> 1 == Linear on gathered positions), sigmoid BCE as softplus
  (source label 0, target 1), per-region mean over positions, mean over active regions;
- Adam (tfjs defaults: beta1 0.9, beta2 0.999, eps 1e-7) over the student's and the classifiers' parameters.

Run a script with --help for its options; it prints one JSON object on stdout.
"""

import argparse
import json
import math
import os
import random
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args(description, defaults):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--warmup', type=int, default=defaults['warmup'])
    p.add_argument('--reps', type=int, default=defaults['reps'])
    p.add_argument('--threads', type=int, default=os.cpu_count(), help='torch.set_num_threads (default: all cores)')
    p.add_argument('--source-batch', type=int, default=defaults['source_batch'])
    p.add_argument('--target-batch', type=int, default=defaults['target_batch'])
    p.add_argument('--height', type=int, default=defaults['height'], help='crop height fed to the net')
    p.add_argument('--width', type=int, default=defaults['width'], help='crop width fed to the net')
    p.add_argument('--full-height', type=int, default=defaults['full_height'], help='full image height (regions)')
    p.add_argument('--full-width', type=int, default=defaults['full_width'], help='full image width (regions)')
    p.add_argument('--flip', type=int, default=defaults['flip'], help='1: half the items are mirrored crops')
    p.add_argument('--classes', type=int, default=19)
    p.add_argument('--lr', type=float, default=0.002)
    p.add_argument('--lambda-dst', type=float, default=1.0)
    p.add_argument('--lambda-spt', type=float, default=0.1)
    p.add_argument('--grid', type=int, nargs=2, default=[3, 3])
    p.add_argument('--steps', type=int, default=300, help='schedule length (DANN ramp of the reversal coefficient)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--device', default='cpu', help="torch device: cpu (default) or cuda[:N] (times include torch.cuda.synchronize)")
    p.add_argument(
        '--tf32', choices=['default', 'on', 'off'], default='default',
        help='CUDA only: TF32 for convolutions and matmuls (default: PyTorch defaults, i.e. on for cuDNN convolutions)',
    )
    return p.parse_args()


# ---------------------------------------------------------------------------------------------------------------
# Gradient reversal and spatial-aware adaptation


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def grad_reverse(x, lam):
    return _GradReverse.apply(x, lam)


def dann_lambda(p, gamma=10.0):
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def region_assignment(fh, fw, crop, grid):
    """@road/dann regionAssignment: region index (row*cols+col) of each feature position, row-major."""
    rows, cols = grid
    top, left, h, w, full_h, full_w, flipped = crop
    col_of = []
    for j in range(fw):
        off = (j + 0.5) * w / fw
        x = left + w - off if flipped else left + off
        col_of.append(min(cols - 1, max(0, math.floor(x * cols / full_w))))
    out = []
    for i in range(fh):
        y = top + (i + 0.5) * h / fh
        row = min(rows - 1, max(0, math.floor(y * rows / full_h)))
        out.extend(row * cols + c for c in col_of)
    return out


def region_index(n, fh, fw, crops, grid):
    """Flat positions (b*fh*fw + p) of each region, as int64 tensors (computed once per batch, like @road/dann's cache)."""
    num = grid[0] * grid[1]
    per = [[] for _ in range(num)]
    for b in range(n):
        for p, r in enumerate(region_assignment(fh, fw, crops[b], grid)):
            per[r].append(b * fh * fw + p)
    return [torch.tensor(ix, dtype=torch.int64) for ix in per]


def domain_classifier(channels, hidden):
    """convDomainClassifier(kernelSize 1, hidden [h]) of @road/dann on gathered positions: Linear == 1x1 conv."""
    return nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))


def unflip(f, crops):
    flags = [c[6] for c in crops]
    if not any(flags):
        return f
    if all(flags):
        return torch.flip(f, dims=[3])
    return torch.cat([torch.flip(f[i : i + 1], dims=[3]) if fl else f[i : i + 1] for i, fl in enumerate(flags)], 0)


def spatial_loss(classifiers, sf, tf_, idx_s, idx_t, lam):
    c = sf.shape[1]
    flat_s = grad_reverse(sf, lam).permute(0, 2, 3, 1).reshape(-1, c)
    flat_t = grad_reverse(tf_, lam).permute(0, 2, 3, 1).reshape(-1, c)
    losses, correct, count = [], [], 0
    for r, clf in enumerate(classifiers):
        n_s, n_t = idx_s[r].numel(), idx_t[r].numel()
        if n_s + n_t == 0:
            continue
        x = torch.cat([flat_s.index_select(0, idx_s[r]), flat_t.index_select(0, idx_t[r])], 0)
        z = clf(x).reshape(-1)
        zs, zt = z[:n_s], z[n_s:]
        losses.append((F.softplus(zs).sum() + F.softplus(-zt).sum()) / (n_s + n_t))
        correct.append((zs <= 0).float().sum() + (zt > 0).float().sum())
        count += n_s + n_t
    loss = torch.stack(losses).mean()
    accuracy = torch.stack(correct).sum().item() / count  # one read, as @road/dann does (readStats)
    return loss, accuracy


# ---------------------------------------------------------------------------------------------------------------
# FLOPs and parameters


class FlopCounter:
    """Counts 2*MACs of Conv2d and Linear calls through forward hooks (same rule as @road/backbone countFlops)."""

    def __init__(self, *modules):
        self.total = 0
        self.handles = []
        for m in modules:
            for sub in m.modules():
                if isinstance(sub, (nn.Conv2d, nn.Linear)):
                    self.handles.append(sub.register_forward_hook(self.hook))

    def hook(self, mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            self.total += 2 * kh * kw * (mod.in_channels // mod.groups) * mod.out_channels * out.numel() // mod.out_channels
        else:
            self.total += 2 * mod.in_features * mod.out_features * (out.numel() // mod.out_features)

    def close(self):
        for h in self.handles:
            h.remove()


def count_params(module, with_bn_stats):
    n = sum(p.numel() for p in module.parameters())
    if with_bn_stats:
        for name, b in module.named_buffers():
            if name.endswith('running_mean') or name.endswith('running_var'):
                n += b.numel()
    return n


# ---------------------------------------------------------------------------------------------------------------
# The step and its timing


def run(name, make_net, feature_channels_of, args):
    """Builds student, teacher, region classifiers and Adam; times the ROAD step; prints one JSON object."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    if cuda and args.tf32 != 'default':
        torch.backends.cudnn.allow_tf32 = args.tf32 == 'on'
        torch.backends.cuda.matmul.allow_tf32 = args.tf32 == 'on'

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    student = make_net(args.classes)
    teacher = make_net(4).backbone  # a pretext (rotation, 4 classes) net's backbone, as `road pretrain` makes
    teacher.load_state_dict(student.backbone.state_dict())
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    channels = feature_channels_of(student)
    hidden = max(16, min(256, channels))
    grid = tuple(args.grid)
    classifiers = nn.ModuleList(domain_classifier(channels, hidden) for _ in range(grid[0] * grid[1]))
    # Everything is created on the CPU (same random values on every device), then moved.
    student.to(device)
    teacher.to(device)
    classifiers.to(device)
    params = list(student.parameters()) + list(classifiers.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
    student.train()
    classifiers.train()

    ns, nt, H, W = args.source_batch, args.target_batch, args.height, args.width

    def crops(n):
        out = []
        for i in range(n):
            top = rng.randint(0, args.full_height - H)
            left = rng.randint(0, args.full_width - W)
            out.append((top, left, H, W, args.full_height, args.full_width, bool(args.flip) and i % 2 == 1))
        return out

    def make_batch():
        labels = torch.randint(0, args.classes, (ns, H, W))
        labels[torch.rand(ns, H, W) < 0.1] = 255
        return {
            'src': torch.randn(ns, 3, H, W),
            'labels': labels,
            'tgt': torch.randn(nt, 3, H, W),
            'src_crops': crops(ns),
            'tgt_crops': crops(nt),
        }

    batches = [make_batch() for _ in range(2)]
    for b in batches:
        for key in ('src', 'labels', 'tgt'):
            b[key] = b[key].to(device)
    with torch.no_grad():
        fshape = student.backbone(batches[0]['src'][:1]).shape
    fh, fw = fshape[2], fshape[3]
    for b in batches:
        b['idx_s'] = [ix.to(device) for ix in region_index(ns, fh, fw, b['src_crops'], grid)]
        b['idx_t'] = [ix.to(device) for ix in region_index(nt, fh, fw, b['tgt_crops'], grid)]

    def step(b, k):
        p = min(1.0, max(0.0, (k - 1) / max(1, args.steps)))
        lam = dann_lambda(p)
        opt.zero_grad(set_to_none=True)
        both = student.backbone(torch.cat([b['src'], b['tgt']], 0))
        sf, tfeat = both[:ns], both[ns:]
        logits = student.head(sf)
        logits = F.interpolate(logits, size=(H, W), mode='bilinear', align_corners=False)
        seg = F.cross_entropy(logits, b['labels'], ignore_index=255)
        with torch.no_grad():
            t_feat = teacher(b['tgt'])
        dst = (tfeat - t_feat).pow(2).sum(1).mean()
        spt, acc = spatial_loss(
            classifiers, unflip(sf, b['src_crops']), unflip(tfeat, b['tgt_crops']), b['idx_s'], b['idx_t'], lam
        )
        total = seg + args.lambda_dst * dst + args.lambda_spt * spt
        total.backward()
        vals = (seg.item(), dst.item(), spt.item(), total.item(), acc)
        if not all(math.isfinite(v) for v in vals[:4]):
            raise RuntimeError(f'non-finite loss {vals}')
        opt.step()
        return vals

    # FLOPs of one step by the same rule as the Node side: 3 x (student backbone + head + classifiers) + teacher.
    b = batches[0]
    with torch.no_grad():
        fc = FlopCounter(student, classifiers)
        both = student.backbone(torch.cat([b['src'], b['tgt']], 0))
        student.head(both[:ns])
        flat = both.permute(0, 2, 3, 1).reshape(-1, channels)
        for r, clf in enumerate(classifiers):
            clf(torch.cat([flat[: ns * fh * fw].index_select(0, b['idx_s'][r]), flat[ns * fh * fw :].index_select(0, b['idx_t'][r])], 0))
        fc.close()
        tc = FlopCounter(teacher)
        teacher(b['tgt'])
        tc.close()
    flops = 3 * fc.total + tc.total
    # that forward pass updated batch-norm statistics; harmless for timing.

    k = 0
    warm = []
    first_vals = None
    for _ in range(max(1, args.warmup)):
        k += 1
        t0 = time.perf_counter()
        v = step(batches[k % 2], k)
        sync()
        warm.append((time.perf_counter() - t0) * 1000)
        first_vals = first_vals or v
    times = []
    for _ in range(args.reps):
        k += 1
        t0 = time.perf_counter()
        step(batches[k % 2], k)
        sync()
        times.append((time.perf_counter() - t0) * 1000)
        print(f'[{name}] rep {len(times)}/{args.reps}: {times[-1]:.0f} ms', file=sys.stderr)
    med = sorted(times)[len(times) // 2]
    out = {
        'bench': name,
        'engine': f'pytorch {torch.__version__} cpu' if not cuda else f'pytorch {torch.__version__} {torch.cuda.get_device_name(device)}',
        **({'device': str(device), 'tf32': {'cudnn': torch.backends.cudnn.allow_tf32, 'matmul': torch.backends.cuda.matmul.allow_tf32}} if cuda else {}),
        'threads': torch.get_num_threads(),
        'shapes': {'source': [ns, H, W, 3], 'target': [nt, H, W, 3], 'features': [fh, fw, channels], 'grid': list(grid)},
        'warmup': args.warmup,
        'reps': args.reps,
        'warmupMs': warm,
        'timesMs': times,
        'medianMs': med,
        'imagesPerSec': (ns + nt) * 1000 / med,
        'flops': {'perStep': flops, 'rule': 'forward x3 (student backbone+head+region classifiers) + teacher forward; conv/linear MACs x2'},
        'gflopsPerSec': flops / (med * 1e6),
        'params': {
            'netTrainable': count_params(student, False),
            'netTotal': count_params(student, True),
            'classifiers': count_params(classifiers, False),
            'teacherBackbone': count_params(teacher, True),
        },
        'firstLosses': {'seg': first_vals[0], 'dst': first_vals[1], 'spt': first_vals[2], 'total': first_vals[3]},
        'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **({'peakCudaMiB': torch.cuda.max_memory_allocated(device) / 2**20} if cuda else {}),
    }
    print(json.dumps(out))
