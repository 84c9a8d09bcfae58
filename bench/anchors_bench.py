"""Benchmark `valgen check` side by side with Doorstop, StrictDoc and sphinx-needs on the same synthetic corpus.

    .venv/bin/python bench/anchors_bench.py [--n 3000] [--runs R | --valgen-runs 5 --anchor-runs 3]
        [--tools valgen,doorstop,doorstop-no-reformat,strictdoc-html,strictdoc-json,sphinx-html,sphinx-dummy]
        [--valgen-only 30000] [--timeout 1800] [--out bench/out]
    .venv/bin/python bench/anchors_bench.py --markdown     # the last results as bench/README.md's table

One invocation generates the corpus (bench/corpus.py, N items), converts it into a
Doorstop tree, a StrictDoc project and a sphinx-needs project (bench/anchors/convert.py:
same items, texts and links), then times each tool as a fresh process: wall time
around the process, peak RSS from the kernel's rusage (os.wait4; for a tool that
forks workers this is the largest single process, not the sum), and CPU seconds
(user + system of the process and its workers, which depends far less on other load
than wall time). valgen and Doorstop get one untimed warm-up run (file cache,
bytecode; for Doorstop it also stamps links and reviews items, so the timed runs
validate a settled tree). Every StrictDoc and Sphinx run starts without that
tool's caches and outputs (StrictDoc's pickle/template cache and HTML, Sphinx's
doctrees and HTML are deleted before each run): a cold full run, as `valgen check`
always is, so they get no warm-up. Medians of the timed runs are reported.

The anchors live only in bench/.anchors-venv (created here on first use from the
pins in bench/anchors/requirements.txt); they are never valgen dependencies.
Results: bench/out/anchors.json and a table on stdout. Exit 0 when every tool ran
and accepted the corpus, 1 when a tool rejected it or timed out, 2 when the
benchmark could not run (e.g. the anchors' environment could not be installed).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "anchors"))
from check_bench import run_once as valgen_run_once  # noqa: E402  (bench/ is not a package)
from convert import read_corpus, write_doorstop, write_sphinx_needs, write_strictdoc  # noqa: E402
from corpus import generate  # noqa: E402

VENV = BENCH / ".anchors-venv"
REQUIREMENTS = BENCH / "anchors" / "requirements.txt"
ALL_TOOLS = ("valgen", "doorstop", "doorstop-no-reformat", "strictdoc-html", "strictdoc-json", "sphinx-html", "sphinx-dummy")
ANCHOR_PACKAGES = ("doorstop", "strictdoc", "sphinx-needs", "Sphinx")


class BenchError(Exception):
    """The benchmark could not run (exit 2): environment, corpus or tool set-up failed."""


def ensure_venv(install: bool = True) -> Path:
    """Create bench/.anchors-venv and install the pinned anchors unless it already matches requirements.txt."""
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    python = VENV / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return VENV
    if not install:
        raise BenchError(f"{VENV} is missing or out of date; rerun without --no-install to create it")
    base = shutil.which("python3") or sys.executable
    print(f"creating {VENV} with {base} -m venv and installing {REQUIREMENTS.name} (a few minutes, needs PyPI)")
    steps = [[base, "-m", "venv", "--clear", str(VENV)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"`{' '.join(step)}` failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    stamp.write_text(wanted + "\n")
    return VENV


def anchor_versions(venv: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; "
            f"print(json.dumps({{p: m.version(p) for p in {list(ANCHOR_PACKAGES)!r}}}))")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


@dataclass
class Tool:
    """One timed command: how to run it, what to clean before each run, which exit codes mean 'accepted'."""

    name: str
    argv: list[str]
    cwd: Path
    clean: list[Path] = field(default_factory=list)
    warning: str = r"(?i)\bwarning\b"
    warmup: bool = False


@dataclass
class Measured:
    walls: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    exit_code: int = 0
    warnings: int = 0
    failure: str = ""


def run_tool_once(tool: Tool, log: Path, timeout: float, env: dict[str, str]) -> tuple[float, float, int]:
    """Run one fresh process of `tool`, output to `log`; returns (wall s, peak RSS MB, exit code; -9 on timeout)."""
    for path in tool.clean:
        shutil.rmtree(path, ignore_errors=True)
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(tool.argv, cwd=tool.cwd, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        # A hung anchor must not hold the benchmark forever: kill its whole session after `timeout`.
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4; keep Popen from waiting again
    return wall, usage.ru_maxrss / 1024, proc.returncode


def measure_anchor(tool: Tool, runs: int, timeout: float, logs: Path, env: dict[str, str]) -> Measured:
    result = Measured()
    for index in range(0 if tool.warmup else 1, runs + 1):  # run 0 is the untimed warm-up
        log = logs / f"{tool.name}-{'warmup' if index == 0 else index}.log"
        before = _children_cpu()
        wall, rss, code = run_tool_once(tool, log, timeout, env)
        cpu = _children_cpu() - before
        if code != 0:
            result.exit_code = code
            tail = log.read_text(errors="replace")[-1500:]
            result.failure = "timed out" if code == -signal.SIGKILL else f"exit {code}; end of {log}:\n{tail}"
            return result
        if index == 0:
            continue
        result.walls.append(wall)
        result.cpu.append(cpu)
        result.rss_mb.append(rss)
        result.warnings = len(re.findall(tool.warning, log.read_text(errors="replace")))
    return result


def _children_cpu() -> float:
    """User + system CPU seconds of all reaped children so far; the difference around one run is that run's CPU.

    CPU time barely moves when other processes compete for the 2 cores, unlike wall
    time, so it is reported next to the wall medians as the load-robust figure.
    """
    times = os.times()
    return times.children_user + times.children_system


def measure_valgen(folder: Path, runs: int) -> Measured:
    result = Measured()
    try:
        valgen_run_once(folder)  # warm-up, not counted
        for _ in range(runs):
            before = _children_cpu()
            wall, rss, _code = valgen_run_once(folder)
            result.cpu.append(_children_cpu() - before)
            result.walls.append(wall)
            result.rss_mb.append(rss)
    except SystemExit as failed:  # check_bench.run_once exits on a non-zero `valgen check`
        result.exit_code, result.failure = 1, str(failed)
    return result


def anchor_tools(venv: Path, work: Path) -> dict[str, Tool]:
    """The anchor commands on the converted projects under `work` (see the module docstring for what is cleaned)."""
    bin_ = venv / "bin"
    doorstop, sdoc, sphinx = work / "doorstop", work / "strictdoc", work / "sphinx-needs"
    out = work / "tool-output"
    # StrictDoc keeps its parse/template cache under the output folder (`<out>/_cache`); removing the
    # output folder makes each run cold. It parallelises HTML export over processes by default (kept).
    sd_html, sd_json = out / "strictdoc-html", out / "strictdoc-json"
    sx_html, sx_dummy = out / "sphinx-html", out / "sphinx-dummy"
    return {
        # Plain `doorstop` validates the whole tree (and re-saves each item file: Doorstop's default).
        # Its warm-up run (untimed) stamps every link and reviews every item, so the timed runs check a settled tree.
        "doorstop": Tool("doorstop", [str(bin_ / "doorstop")], doorstop, warning=r"(?m)^WARNING:", warmup=True),
        # The same validation without re-saving (and `git add`-ing, one process per item) every item file:
        # Doorstop's pure checking cost. Its warm-up settles the tree when plain `doorstop` was not run first.
        "doorstop-no-reformat": Tool("doorstop-no-reformat", [str(bin_ / "doorstop"), "--no-reformat"], doorstop,
                                     warning=r"(?m)^WARNING:", warmup=True),
        "strictdoc-html": Tool("strictdoc-html", [str(bin_ / "strictdoc"), "export", "--formats", "html",
                                                  "--output-dir", str(sd_html), str(sdoc)], work, [sd_html]),
        # JSON export: StrictDoc's cheapest full path (parse + traceability graph with link validation + a dump).
        "strictdoc-json": Tool("strictdoc-json", [str(bin_ / "strictdoc"), "export", "--formats", "json",
                                                  "--output-dir", str(sd_json), str(sdoc)], work, [sd_json]),
        "sphinx-html": Tool("sphinx-html", [str(bin_ / "sphinx-build"), "-b", "html", "-E", "-q", "-d",
                                            str(sx_html / ".doctrees"), str(sphinx), str(sx_html / "html")],
                            work, [sx_html]),
        # The dummy builder parses, resolves needs and links, and writes nothing: sphinx-needs' validation cost.
        "sphinx-dummy": Tool("sphinx-dummy", [str(bin_ / "sphinx-build"), "-b", "dummy", "-E", "-q", "-d",
                                              str(sx_dummy / ".doctrees"), str(sphinx), str(sx_dummy / "out")],
                             work, [sx_dummy]),
    }


def row(name: str, items: int, measured: Measured, command: str, base: Measured | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"tool": name, "items": items, "command": command, "runs": len(measured.walls),
                             "exit_code": measured.exit_code}
    if measured.failure:
        entry["failure"] = measured.failure
    if measured.walls:
        median = statistics.median(measured.walls)
        entry.update(median_s=round(median, 3), min_s=round(min(measured.walls), 3),
                     max_s=round(max(measured.walls), 3), walls_s=[round(w, 3) for w in measured.walls],
                     cpu_median_s=round(statistics.median(measured.cpu), 3),
                     peak_rss_mb=round(max(measured.rss_mb), 1), warnings=measured.warnings)
        if base is not None and base.walls:
            entry["x_valgen_wall"] = round(median / statistics.median(base.walls), 1)
            entry["x_valgen_cpu"] = round(statistics.median(measured.cpu) / statistics.median(base.cpu), 1)
            entry["x_valgen_rss"] = round(max(measured.rss_mb) / max(base.rss_mb), 1)
    return entry


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'tool':<20} {'N':>6} {'runs':>4} {'median s':>9} {'min s':>8} {'max s':>8} {'CPU s':>8} " \
             f"{'peak RSS MB':>11} {'x valgen wall':>13} {'x valgen CPU':>12} {'x valgen RSS':>12} {'warnings':>8}"
    print(header)
    print("-" * len(header))
    for entry in rows:
        if "median_s" not in entry:
            print(f"{entry['tool']:<20} {entry['items']:>6} FAILED: {entry.get('failure', '').splitlines()[0]}")
            continue
        ratio_wall = f"{entry['x_valgen_wall']:.1f}" if "x_valgen_wall" in entry else "-"
        ratio_rss = f"{entry['x_valgen_rss']:.1f}" if "x_valgen_rss" in entry else "-"
        ratio_cpu = f"{entry['x_valgen_cpu']:.1f}" if "x_valgen_cpu" in entry else "-"
        print(f"{entry['tool']:<20} {entry['items']:>6} {entry['runs']:>4} {entry['median_s']:>9.3f} "
              f"{entry['min_s']:>8.3f} {entry['max_s']:>8.3f} {entry['cpu_median_s']:>8.3f} {entry['peak_rss_mb']:>11.0f} "
              f"{ratio_wall:>13} {ratio_cpu:>12} {ratio_rss:>12} {entry['warnings'] if entry['tool'] != 'valgen check' else '-':>8}")


def markdown(report: dict[str, Any]) -> str:
    """The results of an anchors.json report as the Markdown table kept in bench/README.md."""
    lines = ["| tool | N | runs | median wall s (min-max) | median CPU s | peak RSS MB | x valgen wall | x valgen CPU "
             "| x valgen RSS | warnings |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in report["results"]:
        if "median_s" not in entry:
            lines.append(f"| {entry['tool']} | {entry['items']} | - | failed: {entry.get('failure', '').splitlines()[0]} "
                         "| | | | | | |")
            continue
        lines.append(f"| {entry['tool']} | {entry['items']} | {entry['runs']} "
                     f"| {entry['median_s']:.2f} ({entry['min_s']:.2f}-{entry['max_s']:.2f}) | {entry['cpu_median_s']:.2f} "
                     f"| {entry['peak_rss_mb']:.0f} | {entry.get('x_valgen_wall', '-')} | {entry.get('x_valgen_cpu', '-')} "
                     f"| {entry.get('x_valgen_rss', '-')} | {entry['warnings'] if entry['tool'] != 'valgen check' else '-'} |")
    return "\n".join(lines)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="corpus size for every tool (default 3000)")
    parser.add_argument("--runs", type=int, help="timed runs for every tool (overrides the two below)")
    parser.add_argument("--valgen-runs", type=int, default=5)
    parser.add_argument("--anchor-runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help=f"comma-separated subset of {','.join(ALL_TOOLS)}")
    parser.add_argument("--valgen-only", default="30000",
                        help="extra corpus sizes timed for valgen alone (comma-separated; '' for none)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one anchor run is killed")
    parser.add_argument("--no-install", action="store_true", help="fail instead of creating bench/.anchors-venv")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--markdown", action="store_true", help="print <out>/anchors.json as a Markdown table; run nothing")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the tools run in their own folders, so every path handed to them is absolute
    if args.markdown:
        results = args.out / "anchors.json"
        if not results.is_file():
            print(f"anchors_bench: could not run: no results at {results}; run the benchmark first", file=sys.stderr)
            return 2
        print(markdown(json.loads(results.read_text())))
        return 0
    tools = [name.strip() for name in args.tools.split(",") if name.strip()]
    unknown = sorted(set(tools) - set(ALL_TOOLS))
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; expected some of {', '.join(ALL_TOOLS)}")
    valgen_runs = args.runs or args.valgen_runs
    anchor_runs = args.runs or args.anchor_runs
    try:
        return _run(args, tools, valgen_runs, anchor_runs)
    except BenchError as problem:
        print(f"anchors_bench: could not run: {problem}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, tools: list[str], valgen_runs: int, anchor_runs: int) -> int:
    anchors = [name for name in tools if name != "valgen"]
    venv = ensure_venv(install=not args.no_install) if anchors else None
    work = args.out / "anchors" / f"n{args.n}"
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    counts = generate(args.n, corpus)
    items = read_corpus(corpus)
    if len(items) != sum(counts.values()):
        raise BenchError(f"converter read {len(items)} items, corpus has {sum(counts.values())}")
    started, load_before = _utc_now(), os.getloadavg()
    print(f"corpus: {len(items)} items, {sum(len(i.links) for i in items)} links in {corpus}")
    rows: list[dict[str, Any]] = []
    versions = anchor_versions(venv) if venv is not None else {}
    args.out.mkdir(parents=True, exist_ok=True)

    def record(entry: dict[str, Any], complete: bool = False) -> dict[str, Any]:
        """Append a row and rewrite anchors.json at once, so a long run that is cut short keeps what it measured."""
        entry["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        rows.append(entry)
        report = {
            "started": started, "finished": _utc_now() if complete else None, "complete": complete,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                        "loadavg_before": [round(x, 2) for x in load_before]},
            "anchor_versions": versions,
            "corpus": {"items": len(items), "links": sum(len(i.links) for i in items), "per_kind": counts},
            "results": rows,
        }
        (args.out / "anchors.json").write_text(json.dumps(report, indent=2) + "\n")
        return report

    base: Measured | None = None
    if "valgen" in tools:
        base = measure_valgen(corpus, valgen_runs)
        record(row("valgen check", args.n, base, "python -m generator check .", None))
    if venv is not None:
        write_doorstop(items, work / "doorstop")
        write_strictdoc(items, work / "strictdoc")
        write_sphinx_needs(items, work / "sphinx-needs")
        logs = work / "logs"
        logs.mkdir()
        env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        available = anchor_tools(venv, work)
        for name in anchors:
            tool = available[name]
            print(f"timing {name} ({anchor_runs} runs{' after a warm-up' if tool.warmup else ', each cold'}) ...",
                  flush=True)
            measured = measure_anchor(tool, anchor_runs, args.timeout, logs, env)
            command = " ".join(Path(part).name if part.startswith(str(venv)) else part for part in tool.argv)
            record(row(name, args.n, measured, command.replace(str(work) + "/", ""), base))
    for size in (int(s) for s in args.valgen_only.split(",") if s.strip()) if "valgen" in tools else ():
        big = work.parent / f"valgen-only-n{size}"
        shutil.rmtree(big, ignore_errors=True)
        generate(size, big)
        record(row("valgen check", size, measure_valgen(big, valgen_runs), "python -m generator check .", None))
    report = record(rows.pop(), complete=True) if rows else {}
    print_table(rows)
    print(f"load average before {report.get('machine', {}).get('loadavg_before')}, after each tool "
          f"{[entry['loadavg_after'][0] for entry in rows]}; results in {args.out / 'anchors.json'}")
    return 0 if all(entry["exit_code"] == 0 for entry in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

