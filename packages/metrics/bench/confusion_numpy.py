"""numpy reference for bench/confusion.mjs: the usual bincount(num_classes * gt + pred) confusion matrix.

Args: DIR NPIX NUM_CLASSES RUNS. Reads DIR/pred.u8, DIR/label.u8 (uint8 maps), checks the counts equal
DIR/expected.json (road's result), prints JSON {name: Mpixel/s} (median of RUNS).
"""
import json
import sys
import time

import numpy as np

d, npix, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pred = np.fromfile(f'{d}/pred.u8', dtype=np.uint8)
label = np.fromfile(f'{d}/label.u8', dtype=np.uint8)
assert pred.size == npix and label.size == npix


def cm_numpy(pred, label):
    mask = label != 255
    return np.bincount(n * label[mask].astype(np.int64) + pred[mask], minlength=n * n).reshape(n, n)


def med(fn):
    fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


expected = np.array(json.load(open(f'{d}/expected.json')), dtype=np.float64).reshape(n, n)
assert (cm_numpy(pred, label) == expected).all(), 'numpy and road disagree'
out = {'numpy bincount (mask + astype + bincount)': f'{npix / med(lambda: cm_numpy(pred, label)) / 1e6:.0f}'}
try:
    import torch

    torch.set_num_threads(1)
    tp, tl = torch.from_numpy(pred), torch.from_numpy(label)

    def cm_torch():
        m = tl != 255
        return torch.bincount(n * tl[m].long() + tp[m], minlength=n * n)

    assert (cm_torch().reshape(n, n).numpy() == expected).all()
    out['torch.bincount (1 thread)'] = f'{npix / med(cm_torch) / 1e6:.0f}'
except ImportError:
    pass
print(json.dumps(out))
