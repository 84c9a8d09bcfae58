"""Benchmark `valgen qualify --target moto` (IQ+OQ+PQ on the embedded moto server) serial and with -n 2.

Each run is a fresh `valgen qualify` subprocess writing its run record into a
scratch folder. Per run: wall seconds, CPU seconds of the whole process tree
(pytest, xdist workers and their moto server children), the load average at the
start (other work on the machine inflates wall time, not CPU time), the per-stage
seconds from run.json, PQ-015's duration and its p50/p95 registration latency
(from the case's evidence). Reports the median per worker count and writes
everything to bench/out/qualify_bench.json. Targets (issue 5, 2 cores): under 90 s
serial, under 60 s with -n 2.

    python bench/qualify_bench.py                   (3 runs each of -n 0 and -n 2)
    python bench/qualify_bench.py --runs 1 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = {0: 90.0, 2: 60.0}


def _seconds(start: str, end: str) -> float:
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def run_once(workers: int, out: Path) -> dict[str, Any]:
    """One `valgen qualify --target moto -n <workers>`; raises SystemExit if it does not exit 0."""
    cmd = [str(Path(sys.executable).parent / "valgen"), "qualify", "--target", "moto", "-n", str(workers),
           "-o", str(out)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"valgen qualify -n {workers} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    run_dir = max((p for p in out.iterdir() if (p / "run.json").is_file()), key=lambda p: p.stat().st_mtime)
    run = json.loads((run_dir / "run.json").read_text())
    outcomes: dict[str, int] = {}
    for case in run["cases"]:
        outcomes[case["outcome"]] = outcomes.get(case["outcome"], 0) + 1
    load_case = next((c for c in run["cases"] if c["case"] == "PQ-015"), None)
    latencies: dict[str, Any] = {}
    for evidence in sorted((run_dir / "evidence" / "PQ-015").glob("*latenc*.json")):
        latencies = json.loads(evidence.read_text())
    return {
        "workers": workers, "wall_s": round(wall, 2), "load_average_1m": round(load, 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        "stage_s": run.get("extra", {}).get("stage_seconds", {}), "outcomes": outcomes,
        "pq015_s": round(_seconds(load_case["started"], load_case["finished"]), 2) if load_case else None,
        "pq015_p50_s": latencies.get("p50_seconds"), "pq015_p95_s": latencies.get("p95_seconds"),
        "run_id": run["run_id"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per worker count (default 3)")
    parser.add_argument("--workers", type=int, nargs="*", default=[0, 2], help="worker counts (default 0 2)")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "qualify_bench.json")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}", flush=True)
    results: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="valgen-qualify-bench-") as tmp:
        for workers in args.workers:
            runs = []
            for number in range(1, args.runs + 1):
                result = run_once(workers, Path(tmp) / f"n{workers}-{number}")
                runs.append(result)
                stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(result["stage_s"].items()))
                print(f"-n {workers} run {number}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, "
                      f"load average {result['load_average_1m']:.1f}; stages {stages}; PQ-015 {result['pq015_s']} s "
                      f"(p50 {result['pq015_p50_s']} s, p95 {result['pq015_p95_s']} s); {result['outcomes']}",
                      flush=True)
            results += runs
            median = statistics.median(r["wall_s"] for r in runs)
            target = TARGETS.get(workers)
            summary[f"n{workers}"] = {
                "median_wall_s": median, "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
                "median_pq015_s": statistics.median(r["pq015_s"] or 0.0 for r in runs),
                "median_stage_s": {s: statistics.median(r["stage_s"].get(s, 0.0) for r in runs)
                                   for s in ("iq", "oq", "pq")},
                "target_s": target, "met": None if target is None else median < target,
            }
            verdict = "" if target is None else f" (target < {target:.0f} s: {'met' if median < target else 'NOT met'})"
            print(f"-n {workers}: median {median:.1f} s wall over {len(runs)} runs{verdict}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cores": os.cpu_count(), "summary": summary, "runs": results}, indent=1) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
