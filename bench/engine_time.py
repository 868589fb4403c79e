"""Engine time of `recommend` over the full catalog, per device (a benchmark, not a test).

Run: python bench/engine_time.py   (median of 7 in-process runs; the target is < 50 ms)
"""

import statistics
import time

from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import load_catalog
from advisor.ranking.recommend import recommend
from advisor.ranking.rules import Constraints, load_quality, load_scoring

cat = load_catalog()
t = load_tables()
s = load_scoring()
q = load_quality()
for d in ["phone","raspberry-pi-5","laptop","m4-max","rtx-4090","dgx-spark","h100","h20"]:
    hw = hardware_from(HardwareQuery(device=d))
    xs = []
    for _ in range(7):
        start = time.perf_counter()
        recommend(cat, hw, t, Constraints(private=True), s, q)
        xs.append((time.perf_counter() - start) * 1000)
    print(f"{d:16} median {statistics.median(xs):5.1f} ms")
