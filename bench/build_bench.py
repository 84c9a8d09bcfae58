"""Benchmark `valgen build` (PDF) on the synthetic corpus with a synthetic run over every case.

For each N: generate the corpus (bench/corpus.py) and a run directory whose cases
mostly passed (some failed, some not run, one evidence file per step), then time
the parallel binder build (PDF + CSV/XLSX, no HTML) in a subprocess while sampling
the peak RSS of its whole process tree, and the same content laid out in one
WeasyPrint pass in one process. Reports seconds, pages, peak RSS and the ratio.

    python bench/build_bench.py [N ...] [--runs 3]  (default: 500 3000; median of --runs builds)
    python bench/build_bench.py 500 --no-single     (skip the single-pass baseline)

Results also go to bench/out/build_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def _tree_rss_kib(pid: int) -> int:
    """RSS of a process and all its descendants, in KiB, from /proc."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def _measure(cmd: list[str]) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS (KiB) of the process tree, stdout, and CPU seconds of the whole tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    done.set()
    thread.join()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}):\n{err[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, peak, out, cpu


def write_run(model_root: Path, runs_root: Path) -> Path:
    """A run over every case of the corpus: 90 % passed, 5 % failed (closed deviations), 5 % not run."""
    from generator.load import load_model
    from generator.model.run import (
        RUN_SCHEMA_VERSION,
        CaseResult,
        Deviation,
        Executor,
        Outcome,
        Run,
        StepResult,
        TargetIdentity,
        run_to_dict,
    )

    model = load_model(model_root)
    run_id = "20260101T000000Z-bench"
    directory = runs_root / run_id
    cases, devs = [], []
    for n, case in enumerate(model.test_cases()):
        outcome = Outcome.FAILED if n % 20 == 7 else Outcome.NOT_RUN if n % 20 == 13 else Outcome.PASSED
        steps = []
        for s in case.steps:
            evidence: tuple[str, ...] = ()
            if outcome is not Outcome.NOT_RUN:
                rel = f"evidence/{case.id}/step-{s.number}.json"
                (directory / rel).parent.mkdir(parents=True, exist_ok=True)
                (directory / rel).write_text(json.dumps({"case": case.id, "step": s.number, "ok": True}))
                evidence = (rel,)
            steps.append(StepResult(step=s.number, action=s.action, expected=s.expected,
                                    actual=s.expected if outcome is Outcome.PASSED else "the request was refused",
                                    outcome=outcome, evidence=evidence, time="2026-01-01T00:01:00Z"))
        dev_ids: tuple[str, ...] = ()
        if outcome is Outcome.FAILED:
            dev = Deviation(id=f"DEV-{len(devs) + 1:03d}", case=case.id, step=1, expected=case.steps[0].expected,
                            actual="the request was refused", opened="2026-01-01T00:05:00Z", state="closed",
                            classification="minor", root_cause="test data", corrective_action="re-tested",
                            closed_by="qa", closed="2026-01-02T00:00:00Z")
            devs.append(dev)
            dev_ids = (dev.id,)
        cases.append(CaseResult(case=case.id, stage=case.stage, title=case.title, outcome=outcome,
                                reason="target moto does not enforce it" if outcome is Outcome.NOT_RUN else "",
                                started="2026-01-01T00:01:00Z", finished="2026-01-01T00:02:00Z", steps=tuple(steps),
                                deviations=dev_ids))
    run = Run(schema_version=RUN_SCHEMA_VERSION, run_id=run_id, stages=("iq", "oq", "pq"),
              target=TargetIdentity(profile="moto", kind="moto", account="123456789012", regions=("us-east-1",),
                                    endpoint="http://127.0.0.1:5000"),
              executor=Executor(os_user="bench", caller_arn="arn:aws:iam::123456789012:user/bench"),
              started="2026-01-01T00:00:00Z", finished="2026-01-01T00:10:00Z", complete=True, formal=True,
              informal_reasons=(), cases=tuple(cases), deviations=tuple(devs))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.json").write_text(json.dumps(run_to_dict(run), indent=1, sort_keys=True))
    (directory / "junit.xml").write_text("<testsuites/>\n")
    (directory / "report.html").write_text("<html></html>\n")
    return directory


BUILD = """
import json, sys, time
from pathlib import Path
from generator.render.build import build
t = time.perf_counter()
r = build(Path(sys.argv[1]), [Path(sys.argv[2])], Path(sys.argv[3]), html=False)
print(json.dumps({"pages": r.pdf.pages, "parts": r.pdf.parts, "seconds": time.perf_counter() - t,
                  "pdf_seconds": r.timings["pdf"], "timings": r.timings, "phases": r.pdf.phases}))
"""

SINGLE = """
import json, sys, time
from pathlib import Path
from generator.binder import build_binder, load_run_dir
from generator.load import load_model
from generator.render.pdf import render_pdf
t = time.perf_counter()
binder = build_binder(load_model(Path(sys.argv[1])), [load_run_dir(Path(sys.argv[2]))])
r = render_pdf(binder, Path(sys.argv[3]) / "single.pdf", [], single_pass=True)
print(json.dumps({"pages": r.pages, "seconds": time.perf_counter() - t}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 3000])
    parser.add_argument("--runs", type=int, default=3, help="parallel builds per size (the median is reported)")
    parser.add_argument("--no-single", action="store_true", help="skip the single-pass WeasyPrint baseline")
    args = parser.parse_args()
    from corpus import generate

    py = sys.executable
    print(f"cores: {os.cpu_count()}")
    report: list[dict[str, object]] = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"valgen-bench-{n}-") as tmp:
            root = Path(tmp) / "content"
            generate(n, root)
            run_dir = write_run(root, Path(tmp) / "runs")
            runs = []
            for k in range(args.runs):
                load = os.getloadavg()[0]
                seconds, peak, out, cpu = _measure([py, "-c", BUILD, str(root), str(run_dir), str(Path(tmp) / "out")])
                result = json.loads(out.strip().splitlines()[-1])
                runs.append({**result, "inner_seconds": result["seconds"], "seconds": seconds, "cpu": cpu, "peak_mib": peak / 1024,
                             "load": load})
                phases = ", ".join(f"{name} {value:.1f}" for name, value in result["phases"].items())
                print(f"N={n} run {k + 1}: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak / 1024:.0f} MiB, "
                      f"load {load:.1f} (PDF phases: {phases})", flush=True)
            ordered = sorted(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
            median = ordered[len(ordered) // 2]
            entry: dict[str, object] = {"n": n, "pages": median["pages"], "parts": median["parts"],
                                        "median_seconds": median["seconds"], "runs": runs}
            line = (f"N={n}: parallel build median {median['seconds']:.1f} s wall of {len(runs)} "
                    f"(min {ordered[0]['seconds']:.1f}), {median['cpu']:.1f} s CPU, {median['pages']} pages in "
                    f"{median['parts']} parts, peak RSS {max(float(r['peak_mib']) for r in runs):.0f} MiB")  # type: ignore[arg-type]
            if not args.no_single:
                s_seconds, s_peak, s_out, s_cpu = _measure(
                    [py, "-c", SINGLE, str(root), str(run_dir), str(Path(tmp) / "out")])
                s_result = json.loads(s_out.strip().splitlines()[-1])
                ratio = s_seconds / float(median["seconds"])  # type: ignore[arg-type]
                entry["single"] = {"seconds": s_seconds, "cpu": s_cpu, "peak_mib": s_peak / 1024,
                                   "pages": s_result["pages"], "ratio": ratio}
                line += (f"; single-pass WeasyPrint {s_seconds:.1f} s wall, {s_cpu:.1f} s CPU, "
                         f"{s_result['pages']} pages, peak RSS {s_peak / 1024:.0f} MiB; "
                         f"ratio single/parallel {ratio:.2f}x")
            report.append(entry)
            print(line, flush=True)
    out_file = HERE / "out" / "build_bench.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
