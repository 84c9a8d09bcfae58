"""Benchmark `valgen check` on the synthetic corpus: median wall time (process start included) and peak RSS.

    .venv/bin/python bench/check_bench.py [--sizes 3000,30000] [--runs 5] [--out bench/out]

Each run is a fresh `valgen check` process on a generated corpus (bench/corpus.py);
wall time is measured around the process, peak RSS from the kernel's rusage of
that process. Targets (issue 2, 2 cores): N=3,000 under 1.0 s and 200 MB; N=30,000
under 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

VALGEN = [sys.executable, "-m", "generator", "check", "."]


def run_once(folder: Path) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(VALGEN, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"valgen check exited {code} on {folder}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="3000,30000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        folder = args.out / f"corpus-{n}"
        if folder.exists():
            shutil.rmtree(folder)
        generate(n, folder)
        run_once(folder)  # warm the file cache and bytecode once; not counted
        walls, rss = [], []
        for _ in range(args.runs):
            wall, peak, _code = run_once(folder)
            walls.append(wall)
            rss.append(peak)
        row = {"items": n, "runs": args.runs, "median_s": round(statistics.median(walls), 3),
               "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
               "peak_rss_mb": round(max(rss), 1)}
        results.append(row)
        print(f"valgen check N={n:>6}: median {row['median_s']:.3f} s (min {row['min_s']:.3f}, max {row['max_s']:.3f}), "
              f"peak RSS {row['peak_rss_mb']:.0f} MB over {args.runs} runs")
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()}, "check": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "check_bench.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
