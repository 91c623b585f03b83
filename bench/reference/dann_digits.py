"""PyTorch twin of `road bench digits` classification: the DANN paper's MNIST -> MNIST-M net and recipe.

Net (Ganin & Lempitsky 2015 / Ganin et al. 2016): conv5x5-32, ReLU, max-pool 2, conv5x5-48, ReLU, max-pool 2 (768-d
features for 28x28 inputs), fc100, ReLU, fc100, ReLU, fc10; domain head fc100, ReLU, fc1 on the 768 features through
gradient reversal. Recipe: SGD momentum 0.9, mu_p = 0.01 / (1 + 10 p)^0.75, lambda_p = 2 / (1 + exp(-10 p)) - 1,
batch 64 source (+ 64 target for DANN; 64 target for target-trained), inputs (x - mean pixel) / 255 with the per-channel
mean over the MNIST and MNIST-M training images. Initialisation as @road/backbone's `dann-digits`: He-uniform
U(+-sqrt(6/fan_in)) weights with zero biases for the label net, Glorot-uniform weights with zero biases for the domain
head (@road/dann's mlpDomainClassifier).

Data: the exact images @road/datasets produces, dumped by `road bench digits` into a folder with manifest.json and raw
uint8 files (N x 28 x 28 x 3 images, N labels). Run:
  /usr/bin/python3 bench/reference/dann_digits.py --data <dump dir> --seeds 1,2,3 --steps 3000 [--threads 2]
Prints one JSON object: accuracies (MNIST-M test) and wall seconds per method and seed.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from road_common import dann_lambda, grad_reverse  # noqa: E402

METHODS = ('source-only', 'dann', 'target-trained')


class DannDigitsNet(nn.Module):
    """The label net: features (768, flattened in NCHW order) and the label classifier."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 5)
        self.conv2 = nn.Conv2d(32, 48, 5)
        self.fc1 = nn.Linear(768, 100)
        self.fc2 = nn.Linear(100, 100)
        self.fc3 = nn.Linear(100, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, nonlinearity='relu')  # U(+-sqrt(6 / fan_in)), Keras' heUniform
                nn.init.zeros_(m.bias)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return x.flatten(1)

    def classify(self, f):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(f)))))

    def forward(self, x):
        return self.classify(self.features(x))


class DomainHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(768, 100)
        self.fc2 = nn.Linear(100, 1)
        for m in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, f):
        return self.fc2(F.relu(self.fc1(f)))


def lr_at(p):
    return 0.01 / (1 + 10 * p) ** 0.75


def load(data_dir):
    path = os.path.join(data_dir, 'manifest.json')
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f'dann_digits.py: cannot read {path}: {e}')
    out = {}
    for name, entry in manifest['splits'].items():
        n, h, w, c = entry['shape']
        img_file = os.path.join(data_dir, entry['images'])
        lab_file = os.path.join(data_dir, entry['labels'])
        images = np.fromfile(img_file, dtype=np.uint8)
        labels = np.fromfile(lab_file, dtype=np.uint8)
        if images.size != n * h * w * c or labels.size != n:
            sys.exit(f'dann_digits.py: {img_file} / {lab_file} do not hold {n} images of {h}x{w}x{c} and {n} labels')
        out[name] = (images.reshape(n, h, w, c), labels.astype(np.int64))
    return out


def to_tensor(images, mean):
    x = (images.astype(np.float32) - mean) / 255.0
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


class Sampler:
    """Epoch-wise shuffled batches without replacement (a new permutation every epoch)."""

    def __init__(self, n, batch, rng):
        self.n, self.batch, self.rng = n, batch, rng
        self.order, self.pos = rng.permutation(n), 0

    def next(self):
        if self.pos + self.batch > self.n:
            self.order, self.pos = self.rng.permutation(self.n), 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


def train_one(method, seed, steps, batch, data, mean):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = DannDigitsNet()
    dom = DomainHead() if method == 'dann' else None
    params = list(net.parameters()) + (list(dom.parameters()) if dom else [])
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    src_x, src_y = data['mnist-m-train'] if method == 'target-trained' else data['mnist-train']
    src_x = to_tensor(src_x, mean)
    src_y = torch.from_numpy(src_y)
    tgt_x = to_tensor(data['mnist-m-train'][0], mean) if dom else None
    s_samp = Sampler(src_x.shape[0], batch, rng)
    t_samp = Sampler(tgt_x.shape[0], batch, rng) if dom else None
    t0 = time.time()
    net.train()
    for step in range(steps):
        p = step / steps
        for g in opt.param_groups:
            g['lr'] = lr_at(p)
        si = s_samp.next()
        xs, ys = src_x[si], src_y[si]
        if dom is not None:
            ti = t_samp.next()
            x = torch.cat([xs, tgt_x[ti]], 0)
        else:
            x = xs
        f = net.features(x)
        n = xs.shape[0]
        loss = F.cross_entropy(net.classify(f[:n]), ys)
        if dom is not None:
            d = dom(grad_reverse(f, dann_lambda(p))).squeeze(1)
            labels = torch.cat([torch.zeros(n), torch.ones(x.shape[0] - n)])
            loss = loss + F.binary_cross_entropy_with_logits(d, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_s = time.time() - t0
    net.eval()
    test_x, test_y = data['mnist-m-test']
    test_x = to_tensor(test_x, mean)
    with torch.no_grad():
        pred = torch.cat([net(test_x[i:i + 500]).argmax(1) for i in range(0, test_x.shape[0], 500)])
    acc = (pred.numpy() == test_y).mean()
    return float(acc), train_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='folder written by road bench digits (manifest.json)')
    ap.add_argument('--seeds', default='1', help='comma-separated seeds')
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--methods', default=','.join(METHODS))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = load(a.data)
    for key in ('mnist-train', 'mnist-m-train', 'mnist-m-test'):
        if key not in data:
            sys.exit(f'dann_digits.py: {a.data}/manifest.json has no split {key}')
    # Mean pixel (per channel) over both training sets, as the digits bench computes it.
    both = np.concatenate([data['mnist-train'][0], data['mnist-m-train'][0]], 0).reshape(-1, 3).astype(np.float64)
    mean = both.mean(0).astype(np.float32)
    seeds = [int(s) for s in a.seeds.split(',') if s]
    methods = [m for m in a.methods.split(',') if m]
    for m in methods:
        if m not in METHODS:
            sys.exit(f'dann_digits.py: unknown method {m} (known: {", ".join(METHODS)})')
    result = {'engine': f'pytorch {torch.__version__}', 'threads': a.threads, 'steps': a.steps, 'batch': a.batch,
              'meanPixel': mean.tolist(), 'accuracy': {m: [] for m in methods}, 'seconds': {m: [] for m in methods}}
    t0 = time.time()
    for seed in seeds:
        for m in methods:
            acc, s = train_one(m, seed, a.steps, a.batch, data, mean)
            result['accuracy'][m].append(acc)
            result['seconds'][m].append(s)
            print(f'dann_digits.py: seed {seed} {m}: MNIST-M test accuracy {acc:.4f} ({s:.0f} s)', file=sys.stderr)
    result['wallSeconds'] = time.time() - t0
    print(json.dumps(result))


if __name__ == '__main__':
    main()
