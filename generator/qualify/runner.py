"""`valgen qualify`: run the IQ/OQ/PQ suites under pytest with the valgen plugin and return the run record.

The runner creates the run folder, runs pytest in this process (xdist workers
when ``workers > 0``), reports each finished case to a callback (the CLI's
progress display) and reads back the run record the plugin wrote. It prints
nothing: pytest's own terminal output is captured and returned for the CLI to
show when something could not run.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ValgenError
from generator.model import Model
from generator.model.run import Outcome, Run, run_from_dict
from generator.qualify.record import RUN_JSON, RunDirectory
from generator.qualify.results import STAGES

__all__ = ["QualifyResult", "StageSummary", "parse_stages", "run_qualification", "summarize"]

CaseCallback = Callable[[str, Outcome], None]


def parse_stages(value: str | None) -> tuple[str, ...]:
    """``iq,oq`` -> ('iq', 'oq') in protocol order; raises ValgenError on an unknown stage."""
    if not value:
        return STAGES
    asked = [s.strip().lower() for s in value.split(",") if s.strip()]
    bad = [s for s in asked if s not in STAGES]
    if bad or not asked:
        named = ", ".join(bad) if bad else repr(value)
        raise ValgenError(f"unknown stage(s) in --stage: {named}",
                          fix="use a comma-separated list of iq, oq, pq (for example --stage iq,oq)")
    return tuple(s for s in STAGES if s in asked)


@dataclass(frozen=True, slots=True)
class QualifyResult:
    run: Run
    run_dir: Path
    seconds: float
    pytest_output: str


@dataclass
class StageSummary:
    stage: str
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    not_run: dict[str, list[str]] = field(default_factory=dict)  # reason -> case IDs
    seconds: float | None = None


def summarize(run: Run) -> list[StageSummary]:
    """Per stage: counts per outcome and the not-run reasons with their cases."""
    seconds = run.extra.get("stage_seconds", {}) if isinstance(run.extra.get("stage_seconds"), dict) else {}
    result: list[StageSummary] = []
    for stage in run.stages:
        summary = StageSummary(stage=stage, seconds=seconds.get(stage))
        for case in run.cases:
            if case.stage != stage:
                continue
            summary.counts[case.outcome] += 1
            if case.outcome is Outcome.NOT_RUN:
                summary.not_run.setdefault(case.reason or "no reason given", []).append(case.case)
        result.append(summary)
    return result


class _Listener:
    """A pytest plugin object passed to pytest.main: forwards finished cases to the callback."""

    def __init__(self, callback: CaseCallback | None) -> None:
        self.callback = callback

    def pytest_configure(self, config: Any) -> None:
        from generator.qualify.plugin import STATE_KEY

        if self.callback is not None and STATE_KEY in config.stash:
            config.stash[STATE_KEY].listeners.append(self.callback)


def automated_cases(model: Model, stages: Sequence[str]) -> list[str]:
    return [c.id for c in model.test_cases() if c.stage in stages and not c.manual and c.status == "active"]


def run_qualification(
    *,
    root: Path,
    target: str,
    stages: Sequence[str],
    workers: int,
    out: Path,
    on_start: Callable[[int], None] | None = None,
    on_case: CaseCallback | None = None,
) -> QualifyResult:
    """Run the suites of `stages` against `target`; returns the run record (complete, or raises)."""
    import pytest

    from generator.load import load_model
    from generator.targets import find_profile

    root = root.resolve()
    model = load_model(root)  # ContentError (exit 2) names file:line:col
    find_profile(target, root)  # a missing or malformed profile is reported before anything starts
    suites = root / "qualification"
    if not suites.is_dir():
        raise ValgenError(f"no qualification folder in {root}", fix="run valgen from the repository root")
    if workers < 0:
        raise ValgenError(f"-n {workers}: the number of workers cannot be negative", fix="use -n 0, 1, 2, …")
    run_dir = RunDirectory.create(out if out.is_absolute() else Path.cwd() / out)
    if on_start is not None:
        on_start(len(automated_cases(model, stages)))
    args = [
        str(suites),
        "--rootdir", str(root),
        "-o", "addopts=", "-o", "testpaths=", "-p", "no:cacheprovider",
        "--capture=sys", "-q", "--tb=short", "-n", str(workers),
        "--valgen-root", str(root), "--valgen-stage", ",".join(stages), "--valgen-target", target,
        "--valgen-run-dir", str(run_dir.path),
    ]
    if workers > 0:
        # The load scenario (PQ-015) is most of the run: the plugin sorts long_running cases first and work
        # stealing lets the other workers take the rest of that worker's share, so it does not start last.
        args += ["--dist", "worksteal"]
    buffer = io.StringIO()
    begun = time.perf_counter()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        exit_code = pytest.main(args, plugins=[_Listener(on_case)])
    seconds = time.perf_counter() - begun
    output = buffer.getvalue()
    run_json = run_dir.path / RUN_JSON
    try:
        import json

        run = run_from_dict(json.loads(run_json.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValgenError(f"the run record {run_json} could not be read: {exc}\n{_tail(output)}",
                          fix="see the pytest output above") from exc
    if not run.complete:
        why = "; ".join(run.informal_reasons[:1]) or f"pytest exit status {int(exit_code)}"
        raise ValgenError(f"the qualification could not run to the end: {why}\n{_tail(output)}",
                          fix=f"correct the problem above and run again (incomplete record: {run_dir.path})")
    return QualifyResult(run=run, run_dir=run_dir.path, seconds=seconds, pytest_output=output)


def _tail(output: str, lines: int = 60) -> str:
    kept = output.strip().splitlines()
    return "\n".join(kept[-lines:])
