"""The valgen pytest plugin: binds tests to protocol cases, records evidence, writes the run record.

Registered by the ``pytest11`` entry point, so ``valgen qualify`` and a plain
``pytest qualification/`` behave the same. The plugin stays inert in a session
that binds no test to a case and names no valgen option (the engine's own tests).

Options (group ``valgen``): ``--valgen-root`` (content root, default the rootdir),
``--valgen-stage iq,oq,pq`` (stages whose automated cases must all be implemented),
``--valgen-target NAME`` (target profile), ``--valgen-out DIR`` (write a run record
under DIR) or ``--valgen-run-dir DIR`` (write it into exactly DIR).

Under pytest-xdist only the controller writes: workers attach each case's steps
and evidence to the teardown report (attribute ``valgen_payload``), which xdist
serializes to the controller.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import platform
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ValgenError
from generator.model import Model, TestCase
from generator.model.run import Executor, Outcome, StepResult, TargetIdentity, run_to_dict
from generator.qualify.evidence import Evidence, StepError, utc_now
from generator.qualify.formal import formal_status, protocol_documents
from generator.qualify.record import RunDirectory
from generator.qualify.results import STAGES, CaseAccumulator, build_run

__all__ = ["CASE_KEY", "MODEL_KEY", "STATE_KEY", "ValgenState", "bound_case"]

CASE_KEY = pytest.StashKey[TestCase]()
EVIDENCE_KEY = pytest.StashKey[Evidence]()
CALL_OUTCOME_KEY = pytest.StashKey[str]()
MODEL_KEY = pytest.StashKey[Model]()
STATE_KEY = pytest.StashKey["ValgenState"]()

# Hook for the runner (`valgen qualify`): called in the controller with (case id, outcome) as each case ends.
CaseListener = Callable[[str, Outcome], None]

VERSION_PACKAGES = ("valgen", "pytest", "pytest-xdist", "pytest-html", "boto3", "botocore", "moto", "quilt3", "rich",
                    "PyYAML", "pyHanko")


@dataclass
class ValgenState:
    """Per-process plugin state, kept in ``config.stash``."""

    root: Path
    stages: tuple[str, ...]
    target_name: str | None
    run_dir: RunDirectory | None = None
    started: str = ""
    exitstatus: int | None = None
    active: bool = False
    model_error: str = ""
    collection_errors: list[str] = field(default_factory=list)
    cases: dict[str, CaseAccumulator] = field(default_factory=dict)
    target_identity: dict[str, Any] | None = None
    executor_arn: str = ""
    listeners: list[CaseListener] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def bound_case(item: pytest.Item) -> TestCase | None:
    """The protocol case a collected test implements, or None."""
    return item.stash.get(CASE_KEY, None)


# ---------------------------------------------------------------- options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("valgen", "valgen qualification (protocol cases, evidence, run record)")
    group.addoption("--valgen-root", default=None, help="content root holding requirements/ specs/ qualification/")
    group.addoption("--valgen-stage", default=None, help="comma-separated stages whose automated cases must all be "
                    "implemented and are reported (iq,oq,pq)")
    group.addoption("--valgen-target", default=None, help="target profile name or path (default: moto)")
    group.addoption("--valgen-out", default=None, help="write a run record in a new folder under this folder")
    group.addoption("--valgen-run-dir", default=None, help="write the run record into exactly this (new) folder")


def _parse_stages(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    stages = tuple(dict.fromkeys(s.strip().lower() for s in value.split(",") if s.strip()))
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise pytest.UsageError(f"--valgen-stage: unknown stage {', '.join(bad)}; expected a comma-separated list of "
                                "iq, oq, pq")
    return stages


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "case(id): bind this test to a protocol case such as OQ-007 (valgen)")
    config.addinivalue_line("markers", "long_running: started first when the run is spread over xdist workers "
                                       "(valgen), so the longest case does not begin last")
    root_opt = config.getoption("valgen_root")
    root = Path(root_opt).resolve() if root_opt else config.rootpath
    state = ValgenState(
        root=root,
        stages=_parse_stages(config.getoption("valgen_stage")),
        target_name=config.getoption("valgen_target"),
    )
    config.stash[STATE_KEY] = state
    if _is_worker(config):
        return
    # The controller folds every report into cases (also without a run folder: `valgen qualify` listens).
    config.pluginmanager.register(_Controller(state), "valgen-controller")
    out = config.getoption("valgen_out")
    run_dir_opt = config.getoption("valgen_run_dir")
    if not (out or run_dir_opt):
        return
    state.active = True
    try:
        if run_dir_opt:
            path = Path(run_dir_opt)
            path.mkdir(parents=True, exist_ok=True)
            state.run_dir = RunDirectory(path)
        else:
            state.run_dir = RunDirectory.create(Path(out))
    except (OSError, ValgenError) as exc:
        raise pytest.UsageError(f"valgen: cannot create the run folder: {exc}") from exc
    state.started = utc_now()
    # The JUnit XML and the self-contained HTML report belong to the run folder (issue 5, item 2).
    if not config.option.xmlpath:
        config.option.xmlpath = str(state.run_dir.path / "junit.xml")
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(state.run_dir.path / "report.html")
        config.option.self_contained_html = True
    _write_initial(config, state)


def _write_initial(config: pytest.Config, state: ValgenState) -> None:
    assert state.run_dir is not None
    run = build_run(
        run_id=state.run_dir.run_id, model=None, stages=state.stages, accumulated=(), target=_target_identity(state),
        executor=Executor(os_user=_os_user(), caller_arn=""), started=state.started, finished="", complete=False,
        formal_check=formal_status, incomplete_reason="the run is in progress (or was killed)",
        versions=_versions(),
    )
    state.run_dir.write_run(run_to_dict(run))


def get_model(config: pytest.Config) -> Model:
    """The content model: supplied by the caller in ``config.stash[MODEL_KEY]``, else loaded from the root."""
    model = config.stash.get(MODEL_KEY, None)
    if model is not None:
        return model
    state = config.stash[STATE_KEY]
    from generator.load import load_model

    try:
        model = load_model(state.root)
    except ValgenError as exc:
        raise pytest.UsageError("valgen: the protocols cannot be loaded:\n" + exc.render()) from exc
    config.stash[MODEL_KEY] = model
    return model


# ---------------------------------------------------------------- collection: binding tests to cases


def _collection_error(config: pytest.Config, nodeid: str, message: str) -> None:
    """Report a collection error the way pytest reports an import error (also forwarded by xdist workers)."""
    report = pytest.CollectReport(nodeid, "failed", longrepr=message, result=[])
    config.hook.pytest_collectreport(report=report)


def _where(item: pytest.Item) -> str:
    path, line, _name = item.location
    return f"{path}:{(line or 0) + 1}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE_KEY]
    marked = [(item, item.get_closest_marker("case")) for item in items]
    bound = [(item, marker) for item, marker in marked if marker is not None]
    if not bound and not state.stages:
        return
    state.active = True
    model = get_model(config)
    problems: list[tuple[str, str]] = []
    implementations: dict[str, list[pytest.Item]] = {}
    for item, marker in bound:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str) or marker.kwargs:
            problems.append((item.nodeid, f"{_where(item)}: @pytest.mark.case takes exactly one case ID, such as "
                             f"@pytest.mark.case(\"OQ-007\"); found args={marker.args!r} kwargs={marker.kwargs!r}"))
            continue
        case_id = marker.args[0]
        case = model.items.get(case_id)
        if not isinstance(case, TestCase):
            known = sorted(c.id for c in model.test_cases() if c.stage == case_id.split("-")[0].lower())
            hint = f" (cases of that stage: {known[0]} … {known[-1]})" if known else ""
            what = "is not a test case" if case is not None else "is not in any protocol"
            problems.append((item.nodeid, f"{_where(item)}: unknown case ID '{case_id}': it {what}{hint}\n"
                             "  fix: bind the test to a case declared in qualification/iq.yaml, oq.yaml or pq.yaml"))
            continue
        if case.manual:
            problems.append((item.nodeid, f"{_where(item)}: {case_id} ({case.source}) is a manual case; a person "
                             "executes it\n  fix: remove the marker, or make the case automated in the protocol"))
            continue
        if case.status == "retired":
            problems.append((item.nodeid, f"{_where(item)}: {case_id} ({case.source}) is retired\n"
                             "  fix: remove the test or bind it to an active case"))
            continue
        if "evidence" not in getattr(item, "fixturenames", ()):
            problems.append((item.nodeid, f"{_where(item)}: {case_id} is bound but the test does not use the "
                             "'evidence' fixture, so its steps would not be recorded\n"
                             "  fix: add an 'evidence' argument and record each protocol step"))
            continue
        implementations.setdefault(case_id, []).append(item)
        item.stash[CASE_KEY] = case
        item.user_properties.append(("case", case_id))
    if state.stages:
        # `--valgen-stage` selects: bound tests of other stages are deselected, not run.
        other = [item for item in items if (c := bound_case(item)) is not None and c.stage not in state.stages]
        if other:
            config.hook.pytest_deselected(items=other)
            dropped = {id(item) for item in other}
            items[:] = [item for item in items if id(item) not in dropped]
            for item in other:
                implementations.pop(item.stash[CASE_KEY].id, None)
    for case_id, impls in implementations.items():
        if len(impls) > 1:
            places = ", ".join(f"{i.nodeid} ({_where(i)})" for i in impls)
            problems.append((impls[1].nodeid, f"{case_id} is implemented {len(impls)} times: {places}\n"
                             "  fix: keep exactly one test per case"))
    stages = state.stages or tuple(s for s in STAGES if any(i.stash[CASE_KEY].stage == s
                                                            for impls in implementations.values() for i in impls))
    for case in model.test_cases():
        if case.stage in stages and not case.manual and case.status == "active" and case.id not in implementations:
            problems.append((f"{case.source.path}::{case.id}",
                             f"{case.source}: automated case {case.id} ({case.title}) has no implementation\n"
                             f"  fix: add a test marked @pytest.mark.case(\"{case.id}\") under qualification/, "
                             "or mark the case 'manual: true' in the protocol if a person executes it"))
    if _is_worker(config):
        # Distributed run: long cases first (every worker sorts alike, so the collections stay identical).
        # With `--dist worksteal` the worker that takes one keeps it and the others take the rest of its
        # share; serial runs keep the protocol order.
        items.sort(key=lambda item: item.get_closest_marker("long_running") is None)
    for nodeid, message in problems:
        _collection_error(config, nodeid, "valgen: " + message)
    if problems:
        # Nothing runs against a protocol the code does not match (under xdist a worker's collection
        # error does not stop the session by itself).
        config.hook.pytest_deselected(items=list(items))
        items[:] = []


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Iterator[Evidence]:
    """Records the protocol steps of the case this test implements (see generator.qualify.evidence)."""
    case = bound_case(request.node)
    if case is None:
        raise StepError("the 'evidence' fixture needs the test to be bound with @pytest.mark.case(\"<ID>\")")
    record = Evidence(case)
    request.node.stash[EVIDENCE_KEY] = record
    yield record
    # A passed body that skipped protocol steps did not execute the protocol as approved.
    if request.node.stash.get(CALL_OUTCOME_KEY, "") == "passed":
        missing = record.missing_steps()
        if missing:
            raise StepError(f"{case.id}: protocol step(s) {', '.join(map(str, missing))} were not executed")


@pytest.fixture(autouse=True)
def _valgen_requires(request: pytest.FixtureRequest) -> None:
    """A case needing a behaviour the target does not enforce ends NOT RUN with the capability table's reason."""
    case = bound_case(request.node)
    if case is None or not case.requires:
        return
    kind = target_kind(request.config)
    from generator.targets.capabilities import missing

    try:
        gaps = missing(kind, list(case.requires))
    except ValgenError as exc:
        raise StepError(f"{case.id}: {exc.message}") from exc
    if gaps:
        pytest.skip("; ".join(g.reason for g in gaps))


def target_kind(config: pytest.Config) -> str:
    """The kind (moto or aws) of the session's target profile."""
    state = config.stash[STATE_KEY]
    name = state.target_name or "moto"
    if name == "moto":
        return "moto"
    from generator.targets.profile import find_profile

    try:
        return find_profile(name, state.root).kind
    except ValgenError as exc:
        raise pytest.UsageError("valgen: " + exc.render()) from exc


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The target (profile and persona clients): attached to the runner's deployment, or opened here."""
    from generator.qualify.session_target import open_session_target

    state = request.config.stash[STATE_KEY]
    with open_session_target(state.root, state.target_name or "moto") as opened:
        state.target_identity = opened.identity
        state.executor_arn = opened.caller_arn
        yield opened.target


@pytest.fixture(scope="session")
def records(target: Any) -> Any:
    """The records client bound to the target (registrar persona by default)."""
    from generator.qualify.session_target import records_client

    return records_client(target)


# ---------------------------------------------------------------- reports (worker and controller)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    case = bound_case(item)
    if case is None:
        return report
    report.valgen_case = case.id  # type: ignore[attr-defined]
    if call.when == "call":
        item.stash[CALL_OUTCOME_KEY] = report.outcome
    if report.failed and call.excinfo is not None:
        failed = call.when == "call" and isinstance(call.excinfo.value, AssertionError)
        report.valgen_failure = "failed" if failed else "error"  # type: ignore[attr-defined]
    if call.when == "teardown":
        record = item.stash.get(EVIDENCE_KEY, None)
        state = item.config.stash[STATE_KEY]
        payload: dict[str, Any] = record.to_dict() if record is not None else {"steps": [], "attachments": []}
        payload["target"] = state.target_identity
        payload["executor_arn"] = state.executor_arn
        report.valgen_payload = payload  # type: ignore[attr-defined]
    return report


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    if crash:
        return str(crash)
    return str(longrepr or "")


class _Controller:
    """Controller-side recorder (registered only where the run record is written): folds reports into cases."""

    def __init__(self, state: ValgenState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case_id = getattr(report, "valgen_case", None)
        if case_id is None:
            return
        state = self.state
        acc = state.cases.setdefault(case_id, CaseAccumulator(case=case_id, nodeid=report.nodeid))
        acc.add(report.when or "", report.outcome, getattr(report, "valgen_failure", None),
                _message(report) if not report.passed else "", report.start, report.stop)
        payload = getattr(report, "valgen_payload", None)
        if report.when != "teardown" or payload is None:
            return
        if payload.get("target") and state.target_identity is None:
            state.target_identity = payload["target"]
        if payload.get("executor_arn") and not state.executor_arn:
            state.executor_arn = payload["executor_arn"]
        for step in payload.get("steps", []):
            files = [_write_evidence(state, case_id, a["name"], a["content"]) for a in step.get("attachments", [])]
            acc.steps.append(StepResult(step=step["step"], action=step["action"], expected=step["expected"],
                                        actual=step["actual"], outcome=Outcome(step["outcome"]),
                                        evidence=tuple(f for f in files if f), time=step["time"]))
        for attachment in payload.get("attachments", []):
            written = _write_evidence(state, case_id, attachment["name"], attachment["content"])
            if written:
                acc.case_evidence.append(written)
        if acc.outcome is not None:
            for listener in state.listeners:
                listener(case_id, acc.outcome)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.state.collection_errors.append(f"{report.nodeid}: {report.longrepr}")


def _write_evidence(state: ValgenState, case_id: str, name: str, content: str) -> str:
    if state.run_dir is None:
        return ""
    return state.run_dir.write_evidence(case_id, name, content)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[STATE_KEY].exitstatus = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Write the final run record after pytest and pytest-html have written their reports."""
    if STATE_KEY not in config.stash:
        return
    state = config.stash[STATE_KEY]
    if state.run_dir is not None and not _is_worker(config):
        _finalize(config, state)


def _finalize(config: pytest.Config, state: ValgenState) -> None:
    assert state.run_dir is not None
    model: Model | None
    try:
        model = get_model(config)
    except pytest.UsageError as exc:
        model = None
        state.model_error = str(exc)
    stages = state.stages or tuple(s for s in STAGES if any(c.split("-")[0].lower() == s for c in state.cases))
    status = state.exitstatus
    complete = status in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)
    why = "" if complete else _incomplete_reason(status)
    if state.collection_errors:
        complete = False
        why = f"{len(state.collection_errors)} collection error(s): the suites do not match the protocols"
        extra_errors = state.collection_errors[:50]
    else:
        extra_errors = []
    extra = dict(state.extra)
    extra["pytest_exit_status"] = status
    extra["stage_seconds"] = _stage_seconds(state)
    if extra_errors:
        extra["collection_errors"] = extra_errors
    if state.model_error:
        extra["model_error"] = state.model_error
    if state.target_identity is None:
        with contextlib.suppress(pytest.UsageError):
            state.target_identity = {"profile": state.target_name or "moto", "kind": target_kind(config)}
    run = build_run(
        run_id=state.run_dir.run_id, model=model, stages=stages, accumulated=state.cases.values(),
        target=_target_identity(state), executor=Executor(os_user=_os_user(), caller_arn=state.executor_arn),
        started=state.started, finished=utc_now(), complete=complete, formal_check=formal_status,
        incomplete_reason=why, versions=_versions(), inputs=_inputs(config, state, model, stages), extra=extra,
    )
    state.run_dir.finalize(run_to_dict(run))


def _incomplete_reason(status: int | None) -> str:
    if status is None:
        return "the test session did not finish"
    if status == pytest.ExitCode.INTERRUPTED:
        return "the run was interrupted (or collection failed) before every case was executed"
    if status == pytest.ExitCode.USAGE_ERROR:
        return "the run could not start (usage error)"
    return f"the test session ended abnormally (pytest exit status {status})"


def _stage_seconds(state: ValgenState) -> dict[str, float]:
    spans: dict[str, tuple[float, float]] = {}
    for acc in state.cases.values():
        stage = acc.case.split("-")[0].lower()
        if not acc.start:
            continue
        lo, hi = spans.get(stage, (acc.start, acc.stop))
        spans[stage] = (min(lo, acc.start), max(hi, acc.stop))
    return {stage: round(hi - lo, 3) for stage, (lo, hi) in spans.items()}


def _target_identity(state: ValgenState) -> TargetIdentity:
    data = state.target_identity or {}
    return TargetIdentity(
        profile=str(data.get("profile", state.target_name or "moto")),
        kind=str(data.get("kind", "")),
        account=str(data.get("account", "")),
        regions=tuple(data.get("regions", ())),
        endpoint=data.get("endpoint"),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "platform": f"{platform.system()} {platform.release()}"}
    for name in VERSION_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _inputs(config: pytest.Config, state: ValgenState, model: Model | None, stages: tuple[str, ...]) -> dict[str, str]:
    """SHA-256 of what determined this run: the content documents (protocols and the DS they read) and test code."""
    root = state.root
    files: set[Path] = set()
    if model is not None:
        files.update(doc.source.path for doc in model.documents)
        files.update(doc.source.path for doc in protocol_documents(model, stages))
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        path = path if path.is_absolute() else Path(config.invocation_params.dir) / path
        if path.is_dir():
            files.update(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.is_file():
            files.add(path)
            files.update(p for p in path.parent.glob("conftest.py"))
    result: dict[str, str] = {}
    for file in sorted(files):
        absolute = file if file.is_absolute() else Path(config.invocation_params.dir) / file
        if not absolute.is_file():
            continue
        try:
            rel = absolute.resolve().relative_to(root).as_posix()
        except ValueError:
            rel = absolute.resolve().as_posix()
        result[rel] = _sha256(absolute)
    return result
