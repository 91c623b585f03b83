"""numpy reference for bench/node/confusion.mjs: the usual bincount(num_classes * label + pred) confusion matrix.

Usage: /usr/bin/python3 bench/reference/confusion_numpy.py DIR NPIX NUM_CLASSES RUNS
Reads DIR/pred.u8 and DIR/label.u8 (uint8 maps, 255 = ignore), checks its counts equal DIR/expected.json (road's
matrix, row = label, column = prediction), prints JSON {"mpixPerSec": ..., "medianMs": ...} (median of RUNS after
one warm-up run). Without arguments it makes its own random 2048x1024 maps (19 classes, ~10% ignore) and skips the check.
"""
import json
import sys
import time

import numpy as np

if len(sys.argv) == 5:
    d, npix, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    pred = np.fromfile(f'{d}/pred.u8', dtype=np.uint8)
    label = np.fromfile(f'{d}/label.u8', dtype=np.uint8)
    expected = np.array(json.load(open(f'{d}/expected.json')), dtype=np.int64)
else:
    d, npix, n, runs = None, 2048 * 1024, 19, 9
    rng = np.random.default_rng(0)
    pred = rng.integers(0, n, npix, dtype=np.uint8)
    label = np.where(rng.random(npix) < 0.1, 255, rng.integers(0, n, npix)).astype(np.uint8)
    expected = None
assert pred.size == npix and label.size == npix, 'map size mismatch'


def confusion(pred, label):
    mask = label != 255
    return np.bincount(n * label[mask].astype(np.int64) + pred[mask], minlength=n * n).reshape(n, n)


if expected is not None:
    assert (confusion(pred, label).reshape(-1) == expected.reshape(-1)).all(), 'numpy and road disagree'
confusion(pred, label)
ts = []
for _ in range(runs):
    t0 = time.perf_counter()
    confusion(pred, label)
    ts.append(time.perf_counter() - t0)
ts.sort()
med = ts[len(ts) // 2]
print(json.dumps({'engine': f'numpy {np.__version__} bincount', 'mpixPerSec': npix / med / 1e6, 'medianMs': med * 1000, 'checked': expected is not None}))
