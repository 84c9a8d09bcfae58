"""`valgen demo`: the whole job on the embedded moto target, end to end, into build/demo/.

check → demo keys → approve the protocols → deploy moto → qualify IQ/OQ/PQ →
build the binder → sign it (author, reviewer, QA) → publish it to the moto
compliance bucket → verify the published package → summary.

The demo works on a copy of the content (build/demo/workspace) so that the
approvals it writes never touch the repository's own files; everything it
writes stays under the output folder. Each step reports through `Report`, and a
step that cannot continue raises, so the CLI maps it to an exit code.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ValgenError

CONTENT = ("requirements", "specs", "sops", "qualification", "schemas")
PROTOCOLS = ("qualification/iq.yaml", "qualification/oq.yaml", "qualification/pq.yaml")
SIGNERS = (("demo-author", "authored"), ("demo-reviewer", "reviewed"), ("demo-qa", "approved"))
STEPS = 10


class DemoFailed(ValgenError):
    """A step found something not OK (exit 1): the demo stops and says which step and why."""

    exit_code = 1


@dataclass
class DemoResult:
    workspace: Path
    out: Path
    steps: list[tuple[str, float]] = field(default_factory=list)
    check_summary: str = ""
    coverage: str = ""
    run_dir: Path | None = None
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    not_run: dict[str, list[str]] = field(default_factory=dict)
    formal: bool = False
    deviations: int = 0
    pdf: Path | None = None
    html: Path | None = None
    xlsx: Path | None = None
    release: bool = False
    signatures: list[str] = field(default_factory=list)
    package: str = ""
    revision: int = 0
    verdict: str = ""

    @property
    def failed_or_errored(self) -> int:
        return sum(counts.get("failed", 0) + counts.get("error", 0) for counts in self.outcomes.values())


Report = Callable[[str], None]


def _passphrases(keys: Path) -> dict[str, str]:
    """The demo passphrases that `valgen demo-keys` wrote (DEMO — NOT FOR GxP USE)."""
    result: dict[str, str] = {}
    for line in (keys / "passphrases.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        signer, value = line.split(":", 1)
        result[signer.strip()] = value.strip()
    return result


def _demo_source(signer: str, secret: str) -> Any:
    from generator.esign.identity import PassphraseSource

    # 21 CFR 11.200: the second component; the event records that it came from the demo key file.
    return PassphraseSource(f"demo passphrase file for {signer} (unattended demo)", lambda: secret, False)


@contextmanager
def _step(result: DemoResult, report: Report, number: int, title: str) -> Iterator[None]:
    report(f"[{number}/{STEPS}] {title} …")
    begun = time.perf_counter()
    yield
    seconds = time.perf_counter() - begun
    result.steps.append((title, seconds))
    report(f"      done in {seconds:.1f} s")


def run_demo(root: Path, out: Path, *, workers: int, report: Report) -> DemoResult:
    """Run every step; raises DemoFailed (exit 1) or ValgenError (exit 2) when a step cannot continue."""
    root = root.resolve()
    out = out if out.is_absolute() else (root / out)
    if out.exists():
        shutil.rmtree(out)
    workspace = out / "workspace"
    keys = out / "keys"
    result = DemoResult(workspace=workspace, out=out)

    with _step(result, report, 1, "check the content"):
        from generator.check import run_check
        from generator.check.report import format_text

        checked = run_check(root)
        summary = format_text(checked).splitlines()
        result.check_summary, result.coverage = summary[-2], summary[-1]
        report(f"      {result.check_summary}")
        if checked.has_errors_or_warnings:
            raise DemoFailed("the content has findings", fix="run 'valgen check' and correct them first")

    with _step(result, report, 2, "create demo signing keys (DEMO — NOT FOR GxP USE)"):
        from generator.esign.keys import write_demo_keys

        workspace.mkdir(parents=True)
        for name in CONTENT:
            if (root / name).is_dir():
                shutil.copytree(root / name, workspace / name,
                                ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        if (root / "conf.py").is_file():
            shutil.copy(root / "conf.py", workspace / "conf.py")
        write_demo_keys(keys)
        for name in ("signatories.yaml", "revocations.yaml"):
            shutil.copy(keys / name, workspace / "requirements" / name)
        report(f"      keys in {keys.relative_to(root)}; content copied to {workspace.relative_to(root)}")

    from generator.esign.identity import Lockout
    from generator.esign.signatories import load_signatories

    signatories = load_signatories(workspace / "requirements" / "signatories.yaml")
    secrets = _passphrases(keys)
    lockout = Lockout(keys / "state")

    with _step(result, report, 3, "approve the IQ/OQ/PQ protocols (reviewer, then QA)"):
        from generator.esign.approve import approve_document

        for protocol in PROTOCOLS:
            for signer, meaning in (("demo-reviewer", "reviewed"), ("demo-qa", "approved")):
                approve_document(workspace / protocol, signatories, signer, meaning, key_file=keys / f"{signer}.p12",
                                 source=_demo_source(signer, secrets[signer]), lockout=lockout)
            report(f"      {protocol}: reviewed by demo-reviewer, approved by demo-qa")

    from generator.targets import deployment_from_repository, find_profile
    from generator.targets.moto import MotoServer, deploy_moto

    with MotoServer() as server:  # stopped on leaving the block, whatever happens
        with _step(result, report, 4, "start the embedded moto target and apply the reference deployment"):
            profile = find_profile("moto", workspace)
            target = deploy_moto(server, profile, deployment_from_repository(workspace))
            report(f"      AWS_ENDPOINT_URL={server.endpoint} (compliance bucket "
                   f"{target.resources['compliance_bucket']})")
        _qualify_build_sign_publish(result, report, root, workspace, keys, signatories, secrets, lockout, workers,
                                    target)
    return result


def _qualify_build_sign_publish(result: DemoResult, report: Report, root: Path, workspace: Path, keys: Path,
                                signatories: Any, secrets: dict[str, str], lockout: Any, workers: int,
                                target: Any) -> None:
    out = result.out
    with _step(result, report, 5, "qualify IQ, OQ and PQ on moto"):
        from generator.qualify.runner import run_qualification, summarize

        done = {"n": 0, "total": 0}

        def started(total: int) -> None:
            done["total"] = total

        def finished(case: str, outcome: Any) -> None:
            done["n"] += 1
            if done["n"] % 10 == 0 or done["n"] == done["total"]:
                report(f"      {done['n']}/{done['total']} cases finished")

        qualified = run_qualification(root=workspace, target="moto", stages=("iq", "oq", "pq"), workers=workers,
                                      out=out / "runs", on_start=started, on_case=finished)
        result.run_dir = qualified.run_dir
        result.formal = qualified.run.formal
        result.deviations = len(qualified.run.deviations)
        for summary in summarize(qualified.run):
            result.outcomes[summary.stage] = {o.value: n for o, n in summary.counts.items()}
            for reason, cases in summary.not_run.items():
                result.not_run.setdefault(reason, []).extend(cases)
        report(f"      run {qualified.run.run_id}: {'formal' if result.formal else 'INFORMAL'} evidence; "
               + "; ".join(f"{s.upper()} " + ", ".join(f"{n} {o}" for o, n in c.items() if n)
                           for s, c in result.outcomes.items()))
        if not result.formal:
            raise DemoFailed("the run is not formal evidence although the protocols were approved: "
                             + "; ".join(qualified.run.informal_reasons))

    with _step(result, report, 6, "build the binder (PDF/A, HTML, CSV, XLSX)"):
        from generator.render.build import build

        built = build(workspace, [result.run_dir], out / "binder")
        result.pdf, result.html, result.xlsx = built.pdf.path, built.html, built.xlsx
        result.release = built.binder.vsr.release
        report(f"      {result.pdf.relative_to(root)}: {built.pdf.pages} pages; VSR conclusion: "
               f"{'released' if result.release else 'NOT released'}")

    with _step(result, report, 7, "sign the binder as author, reviewer and QA approver"):
        from generator.esign.sign import sign_binder

        for signer, meaning in SIGNERS:
            signed = sign_binder(result.pdf, signatories, signer, meaning, key_file=keys / f"{signer}.p12",
                                 source=_demo_source(signer, secrets[signer]), lockout=lockout)
            line = f"{signed.event['name']} ({signer}), {meaning}, {signed.event['time']}"
            result.signatures.append(line)
            report(f"      signed: {line}")

    with _step(result, report, 8, "verify the signed binder offline"):
        from generator.esign.verify import verify_binder

        offline = verify_binder(result.pdf, signatories, None)
        if not offline.ok:
            raise DemoFailed("the signed binder does not verify: " + "; ".join(offline.all_problems()))
        report(f"      {len(offline.signatures)} signatures intact, trusted, in order; attachments match the manifest")

    from generator.records import RecordsClient

    client = RecordsClient(target)
    with _step(result, report, 9, "publish the binder to the moto compliance bucket"):
        from generator.esign.publish import publish_binder

        published = publish_binder(client, result.pdf, signatories)
        result.package, result.revision = published.package, published.revision
        report(f"      {published.package} revision {published.revision} (top hash {published.top_hash[:16]}…), "
               f"{len(published.files)} files, Object-Locked")

    with _step(result, report, 10, "verify the published package from S3"):
        from generator.esign.publish import verify_published

        remote = verify_published(client, result.package, result.revision, signatories, None)
        problems = remote.rehash_problems + remote.problems + (remote.binder.all_problems() if remote.binder else [])
        result.verdict = "verified" if remote.ok else "NOT verified: " + "; ".join(problems)
        report(f"      {result.verdict}")
        if not remote.ok:
            raise DemoFailed(f"the published package does not verify: {'; '.join(problems)}")


def summary_text(result: DemoResult, root: Path) -> str:
    """The closing summary the CLI prints."""

    def rel(path: Path | None) -> str:
        if path is None:
            return "-"
        try:
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    lines = ["", "valgen demo — summary (embedded moto target: a demonstration, not evidence for a GxP system)"]
    lines.append(f"  content:     {result.check_summary}")
    lines.append(f"  {result.coverage}")
    for stage, counts in result.outcomes.items():
        lines.append(f"  {stage.upper()}:          " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    for reason, cases in sorted(result.not_run.items()):
        lines.append(f"    not run ({len(cases)}): {reason}")
    lines.append(f"  deviations:  {result.deviations} opened")
    lines.append(f"  run record:  {rel(result.run_dir)} ({'formal' if result.formal else 'informal'})")
    lines.append(f"  binder PDF:  {rel(result.pdf)}  (VSR: {'released' if result.release else 'NOT released'})")
    lines.append(f"  HTML site:   {rel(result.html)}")
    lines.append(f"  matrix XLSX: {rel(result.xlsx)}")
    for signature in result.signatures:
        lines.append(f"  signature:   {signature}")
    lines.append(f"  published:   {result.package} revision {result.revision} on the moto compliance bucket")
    lines.append(f"  verify:      {result.verdict}")
    total = sum(seconds for _title, seconds in result.steps)
    lines.append(f"  time:        {total:.0f} s")
    if result.failed_or_errored:
        lines.append(f"  NOT OK:      {result.failed_or_errored} case(s) failed or errored; see the deviation log "
                     "in the binder (exit status 1)")
    return "\n".join(lines) + "\n"
