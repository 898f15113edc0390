"""Time pycocotools' COCOeval on the JSON written by bench.ts --write-json DIR (for comparison only).

usage: python3 pycocotools_bench.py DIR bbox|segm [OUT.json]
pycocotools must be importable (e.g. PYTHONPATH=<cocoapi>/PythonAPI after `setup.py build_ext --inplace`).
matplotlib is only needed for pycocotools' plotting and is stubbed when absent.
"""
import json
import resource
import sys
import time
import types

import numpy as np

if not hasattr(np, "float"):
    np.float = float  # the 2020 pycocotools uses np.float, removed in numpy 1.24
try:
    import matplotlib  # noqa: F401
except ImportError:
    for name in ["matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"]:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["matplotlib"].use = lambda *a, **k: None
    sys.modules["matplotlib.collections"].PatchCollection = object
    sys.modules["matplotlib.patches"].Polygon = object

from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

d, iou_type = sys.argv[1], sys.argv[2]
gt = COCO(f"{d}/gt.json")
dets = json.load(open(f"{d}/dt_{iou_type}.json"))
w, c = [], []


def mark():
    w.append(time.perf_counter())
    c.append(time.process_time())


mark()
dt = gt.loadRes(dets)
mark()
E = COCOeval(gt, dt, iou_type)
E.evaluate()
mark()
E.accumulate()
mark()
E.summarize()
mark()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def s(i, j):
    return f"{w[j] - w[i]:.2f} s (cpu {c[j] - c[i]:.2f})"


print(
    f"pycocotools {iou_type}: loadRes {s(0, 1)} | evaluate {s(1, 2)} | accumulate {s(2, 3)} | "
    f"summarize {s(3, 4)} | total evaluate+accumulate+summarize {s(1, 4)} | peak RSS {rss / 1024:.0f} MB"
)
if len(sys.argv) > 3:
    json.dump({"stats": E.stats.tolist(), "recall": E.eval["recall"].ravel().tolist()}, open(sys.argv[3], "w"))
