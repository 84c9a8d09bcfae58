"""The command line: parse arguments, call the engine, print, map outcomes to exit codes.

This is the only module that prints for the user and exits. Library code raises
`generator.errors.ValgenError` (could not run, exit 2) or returns results whose
verdict the command maps to 0 (OK) or 1 (not OK).

Each subcommand is one `_cmd_<name>` function registered in `_build_parser`.
Heavy imports happen inside the command functions, so `valgen check` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from generator.errors import EXIT_COULD_NOT_RUN, EXIT_NOT_OK, EXIT_OK, ValgenError
from generator.model import Approval
from generator.model.findings import Finding

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line hint instead of its usage dump on bad arguments."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.stderr.write(f"  fix: run '{self.prog} --help' for the accepted arguments\n")
        raise SystemExit(EXIT_COULD_NOT_RUN)


def _cmd_check(args: argparse.Namespace) -> int:
    from generator.check import run_check
    from generator.check.report import format_json, format_text, list_rules_text

    if args.list_rules:
        sys.stdout.write(list_rules_text())
        return EXIT_OK
    root = Path(args.path)
    def approvals() -> Callable[[Approval], str | None]:
        # imported only when some document carries approvals: cryptography is slow to import
        from generator.esign.approve import approval_verifier

        return approval_verifier(root)

    result = run_check(root, approvals=approvals, others=_check_profiles)
    out = format_json(result) if args.format == "json" else format_text(result)
    sys.stdout.write(out)
    return EXIT_NOT_OK if result.has_errors_or_warnings else EXIT_OK


def _check_profiles(root: Path) -> tuple[list[Path], list[Finding]]:
    """Target profiles (qualification/targets/*.yaml) are content too: validated with their own format."""
    import os

    folder = root / "qualification" / "targets"
    if not folder.is_dir():
        return [], []
    from generator.targets.profile import profile_problems

    files = sorted(folder.glob("*.yaml"))
    findings = []
    for path in files:
        for problem in profile_problems(Path(os.path.relpath(path))):
            findings.append(Finding(code="TGT001", source=problem.source, message=problem.message,
                                    expected=problem.expected, fix=problem.fix))
    return files, findings


def _cmd_trace(args: argparse.Namespace) -> int:
    from generator.check import load_for_trace
    from generator.check.trace import format_trace

    model = load_for_trace(Path(args.path))
    sys.stdout.write(format_trace(model, args.id))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from generator.load.schema import write_schemas
    from generator.targets.profile import profile_schema

    written = write_schemas(Path(args.out), extra={"target-profile": profile_schema()})
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    return EXIT_OK


def _cmd_esign(args: argparse.Namespace) -> int:
    """demo-keys, sign, verify, approve (issue 7); the work is in generator.esign.commands."""
    from generator.esign import commands

    opt = {"signatories": args.signatories, "revocations": args.revocations} if args.command != "demo-keys" else {}
    if args.command == "demo-keys":
        sys.stdout.write(commands.run_demo_keys(Path(args.dir), fresh=args.fresh))
        return EXIT_OK
    if args.command == "verify":
        if args.target is not None or args.package is not None:
            if args.target is None or args.package is None or args.binder is not None:
                raise ValgenError("remote verify takes --target and --package, and no BINDER.pdf",
                                  fix="valgen verify --target T --package NAME [--revision N]")
            text, ok = commands.run_verify_remote(target=args.target, root=Path(args.path), package=args.package,
                                                  revision=args.revision, trust=args.trust, **opt)
        elif args.binder is None:
            raise ValgenError("nothing to verify", fix="valgen verify BINDER.pdf, or --target T --package NAME")
        else:
            text, ok = commands.run_verify(Path(args.binder), trust=args.trust, **opt)
        sys.stdout.write(text)
        return EXIT_OK if ok else EXIT_NOT_OK
    if args.command == "publish":
        sys.stdout.write(commands.run_publish(Path(args.binder), target=args.target, root=Path(args.path),
                                              package=args.package, signer=args.signer, keys=args.keys,
                                              state=args.state, **opt))
        return EXIT_OK
    if args.command == "sign":
        sys.stdout.write(commands.run_sign(Path(args.file), args.signer, args.meaning, keys=args.keys,
                                           state=args.state, target=args.target, root=Path(args.path), **opt))
        return EXIT_OK
    sys.stdout.write(commands.run_approve(Path(args.file), args.signer, args.meaning, keys=args.keys,
                                          state=args.state, **opt))
    return EXIT_OK


def _cmd_qualify(args: argparse.Namespace) -> int:
    """Run IQ/OQ/PQ against a target with a progress display; summary per stage (issue 5)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from generator.model.run import Outcome
    from generator.qualify.runner import parse_stages, run_qualification, summarize

    console = Console(file=sys.stdout, highlight=False)
    stages = parse_stages(args.stage)
    counts = {"failed": 0, "error": 0}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[last]}"), console=console, transient=False) as progress:
        task = progress.add_task(f"qualify {','.join(stages)} on {args.target}", total=None, last="starting")

        def on_start(total: int) -> None:
            progress.update(task, total=total, last="starting the target")

        def on_case(case_id: str, outcome: Outcome) -> None:
            if outcome in (Outcome.FAILED, Outcome.ERROR):
                counts[outcome.value] += 1
            bad = f" ({counts['failed']} failed, {counts['error']} error)" if any(counts.values()) else ""
            progress.update(task, advance=1, last=f"{case_id} {outcome.value}{bad}")

        result = run_qualification(root=Path(args.path), target=args.target, stages=stages, workers=args.workers,
                                   out=Path(args.out), on_start=on_start, on_case=on_case)
    run = result.run
    table = Table(title=f"Run {run.run_id} on {run.target.profile} ({run.target.kind})")
    table.add_column("stage")
    for outcome in Outcome:
        table.add_column(outcome.value, justify="right")
    table.add_column("seconds", justify="right")
    summaries = summarize(run)
    for s in summaries:
        table.add_row(s.stage.upper(), *(str(s.counts[o]) for o in Outcome),
                      f"{s.seconds:.1f}" if s.seconds is not None else "-")
    console.print(table)
    for s in summaries:
        for reason, cases in s.not_run.items():
            console.print(f"[yellow]not run[/] {s.stage.upper()} {', '.join(cases)}: {reason}")
    for dev in run.deviations:
        step = f" step {dev.step}" if dev.step is not None else ""
        console.print(f"[red]{dev.id}[/] {dev.case}{step}: expected {dev.expected!r}; actual {dev.actual!r}")
    status = "formal evidence" if run.formal else "informal (not formal evidence): " + "; ".join(run.informal_reasons)
    console.print(f"{status}\nrun record: {result.run_dir} ({result.seconds:.1f} s)")
    failed = any(c.outcome in (Outcome.FAILED, Outcome.ERROR) for c in run.cases)
    return EXIT_NOT_OK if failed else EXIT_OK


def _cmd_deploy(args: argparse.Namespace) -> int:
    import threading

    from generator.targets import deployment_from_repository, find_profile
    from generator.targets.moto import MotoServer, deploy_moto, state_path, write_state

    profile = find_profile(args.target, Path(args.path))
    if profile.kind != "moto":
        raise ValgenError(f"target '{profile.name}' is of kind {profile.kind}; valgen deploys only the embedded moto "
                          "target", fix="deploy an aws target with your own infrastructure code, then qualify it")
    deployment = deployment_from_repository(Path(args.path))
    with MotoServer() as server:
        target = deploy_moto(server, profile, deployment)
        state = write_state(target, state_path(Path(args.path)))
        out = sys.stdout
        out.write(f"# valgen: target '{profile.name}' deployed from {deployment.origin}\n")
        for name, value in target.resources.items():
            out.write(f"# {name}: {value}\n")
        out.write(f"AWS_ENDPOINT_URL={server.endpoint}\n")
        for persona, creds in target.personas.items():
            out.write(f"{persona}: AWS_ACCESS_KEY_ID={creds.access_key_id} "
                      f"AWS_SECRET_ACCESS_KEY={creds.secret_access_key}\n")
        out.write("# the server runs until interrupted (Ctrl-C)\n")
        out.flush()
        try:
            threading.Event().wait()  # until Ctrl-C; the server stops on leaving the with-block
        except KeyboardInterrupt:
            sys.stderr.write("valgen: stopping the moto server\n")
        finally:
            state.unlink(missing_ok=True)
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from generator.render.build import build

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, object] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        result = build(Path(args.path), [Path(r) for r in args.run], Path(args.out), jobs=args.jobs,
                       progress=progress, html=not args.no_html)
    b = result.binder
    counts = ", ".join(f"{o.stage.upper()} {o.passed}/{o.total} passed, {o.failed} failed, {o.error} error, "
                       f"{o.not_run} not run" for o in b.vsr.outcomes)
    sys.stdout.write(f"binder   {result.pdf.path} ({result.pdf.pages} pages, {result.pdf.attachments} attachments, "
                     f"{result.timings['pdf']:.1f} s)\n")
    if result.html:
        sys.stdout.write(f"html     {result.html / 'index.html'}\n")
    sys.stdout.write(f"matrix   {result.csv}  {result.xlsx}\n")
    sys.stdout.write(f"manifest {result.sums} (check: cd {result.sums.parent} && sha256sum -c SHA256SUMS)\n")
    sys.stdout.write(f"cases    {counts}\n")
    sys.stdout.write("coverage " + ", ".join(f"{c.level} {c.covered}/{c.total}" for c in b.coverage) + "\n")
    sys.stdout.write(f"VSR      {'released for use' if b.vsr.release else 'NOT released'}"
                     f"{' (demonstration target)' if b.vsr.demonstration else ''}\n")
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from generator.records import RecordsClient, inspect_package
    from generator.targets import find_profile
    from generator.targets.base import Target

    root = Path(args.path)
    profile = find_profile(args.target, root)
    target: Target
    if profile.kind == "moto":
        from generator.targets.moto import attach_moto, state_path

        target = attach_moto(profile, state_path(root))
    else:
        from generator.targets.aws import AwsTarget

        target = AwsTarget(profile)
    client = RecordsClient(target)
    out = sys.stdout
    import botocore.exceptions

    if args.package is None:
        try:
            names = client.packages()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise ValgenError(f"target '{profile.name}' could not list packages: {exc}",
                              fix="check the target's endpoint, credentials and the auditor's permissions") from exc
        for name in names:
            revisions = client.revisions(name)
            out.write(f"{name}: {len(revisions)} revision(s), latest {revisions[-1].top_hash}\n")
        return EXIT_OK
    try:
        result = inspect_package(client, args.package, args.revision,
                                 export_dir=Path(args.export) if args.export else None)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise ValgenError(f"target '{profile.name}' could not answer: {exc}",
                          fix="check the target's endpoint, credentials and the auditor's permissions") from exc
    for answer in result.answers:
        out.write(f"{answer.number}. {answer.question} [{answer.status}]\n")
        for line in answer.lines:
            out.write(f"   {line}\n")
    return EXIT_OK if result.ok else EXIT_NOT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from generator.demo import run_demo, summary_text

    def report(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    root = Path(args.path)
    result = run_demo(root, Path(args.out), workers=args.workers, report=report)
    sys.stdout.write(summary_text(result, root.resolve()))
    # the binder is complete either way; failed or errored cases still make the job not OK
    return EXIT_NOT_OK if result.failed_or_errored else EXIT_OK


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="valgen", description="Validation documentation for 21 CFR Part 11 records systems on S3.")
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("check", help="check the content: schema, IDs, links, coverage, change control")
    p.add_argument("path", nargs="?", default=".", help="repository or content folder (default: .)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--list-rules", action="store_true", help="list every rule with its code, severity and fix")
    p.set_defaults(handler=_cmd_check)

    p = sub.add_parser("trace", help="print an item's chain up to regulation clauses and down to test cases")
    p.add_argument("id", help="an item ID such as URS-001")
    p.add_argument("--path", default=".", help="repository or content folder (default: .)")
    p.set_defaults(handler=_cmd_trace)

    p = sub.add_parser("schema", help="write a JSON Schema for every content file kind")
    p.add_argument("--out", default="schemas", help="output folder (default: schemas)")
    p.set_defaults(handler=_cmd_schema)

    # Further subcommands register below this line (one block each).
    p = sub.add_parser("demo", help="the whole job on the embedded moto target, end to end, into build/demo/")
    p.add_argument("--out", default="build/demo", help="output folder inside the repository (default: build/demo)")
    p.add_argument("-n", dest="workers", type=int, default=2, help="pytest-xdist workers for the qualification "
                   "(default: 2)")
    p.add_argument("--path", default=".", help="repository root (default: .)")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("build", help="render the binder: PDF/A-3b, HTML site, matrix CSV/XLSX, manifest")
    p.add_argument("--run", action="append", default=[], metavar="DIR", help="a run directory (repeatable)")
    p.add_argument("-o", "--out", default="build", help="output folder (default: build)")
    p.add_argument("--path", default=".", help="repository or content folder (default: .)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML site")
    p.set_defaults(handler=_cmd_build)

    p = sub.add_parser("deploy", help="start the embedded moto target with the reference deployment until Ctrl-C")
    p.add_argument("--target", default="moto", help="a moto target profile name or path (default: moto)")
    p.add_argument("--path", default=".", help="repository root holding specs/ and qualification/ (default: .)")
    p.set_defaults(handler=_cmd_deploy)

    p = sub.add_parser("inspect", help="answer mock-inspection questions 1-4 about a record package")
    p.add_argument("package", nargs="?", help="package name 'namespace/name' (omit to list the packages)")
    p.add_argument("--revision", type=int, help="revision number, 1 = first registered (default: latest)")
    p.add_argument("--target", default="moto", help="target profile name or path (moto: a running 'valgen deploy')")
    p.add_argument("--export", metavar="DIR", help="write the PDF and CSV copies of the revision into DIR")
    p.add_argument("--path", default=".", help="repository root (default: .)")
    p.set_defaults(handler=_cmd_inspect)

    # issue 5: qualification (generator.qualify)
    p = sub.add_parser("qualify", help="run the IQ/OQ/PQ suites against a target and write a run record")
    p.add_argument("--target", default="moto", help="'moto' (embedded, started here) or a target profile name/path")
    p.add_argument("--stage", default="iq,oq,pq", help="comma-separated stages to run (default: iq,oq,pq)")
    p.add_argument("-n", dest="workers", type=int, default=0, help="parallel pytest-xdist workers (default: 0)")
    p.add_argument("-o", "--out", default="runs", help="folder for run records (default: runs/)")
    p.add_argument("--path", default=".", help="repository root (default: .)")
    p.set_defaults(handler=_cmd_qualify)
    # issue 7: e-signatures (generator.esign)
    p = sub.add_parser("demo-keys", help="create a demo CA, three demo signers (PKCS#12) and a signatories file")
    p.add_argument("dir", help="output folder")
    p.add_argument("--fresh", action="store_true", help="random keys instead of the fixed demo keys")
    p.set_defaults(handler=_cmd_esign)
    for name, target, meanings, text in (
            ("sign", "file", ("authored", "reviewed", "approved", "released"),
             "sign a binder PDF (PAdES) into its next field"),
            ("approve", "file", ("reviewed", "approved"), "approve one version of a content document")):
        p = sub.add_parser(name, help=text)
        p.add_argument(target, metavar="BINDER.pdf" if name == "sign" else "DOCUMENT.yaml")
        p.add_argument("--signer", required=True, help="your signer ID (first identification component)")
        p.add_argument("--meaning", required=True, choices=meanings, help="what the signature means")
        p.add_argument("--keys", type=Path, help="folder holding <signer>.p12 (default: $VALGEN_KEYS_DIR)")
        p.add_argument("--state", type=Path, help="lockout state folder (default: $VALGEN_STATE_DIR or KEYS/state)")
        p.add_argument("--signatories", type=Path, help="signatories file (default: requirements/signatories.yaml)")
        p.add_argument("--revocations", type=Path, help="revocation list (default: revocations.yaml beside it)")
        if name == "sign":
            p.add_argument("--target", help="also store the signature event, Object-Locked, under signatures/ in "
                                            "this target's compliance bucket (moto: a running valgen deploy)")
            p.add_argument("--path", default=".", help="repository root (default: .)")
        p.set_defaults(handler=_cmd_esign)
    p = sub.add_parser("verify", help="verify a signed binder offline (or a published one from S3): signatures, "
                                      "changes, trust, manifest, order")
    p.add_argument("binder", metavar="BINDER.pdf", nargs="?", help="the binder PDF (offline verify)")
    p.add_argument("--trust", type=Path, help="CA certificate (PEM) to trust (default: the signatories' trust_root)")
    p.add_argument("--signatories", type=Path, help="signatories file (default: requirements/signatories.yaml)")
    p.add_argument("--revocations", type=Path, help="revocation list (default: revocations.yaml beside it)")
    p.add_argument("--target", help="verify a published package on this target (re-hashed from S3)")
    p.add_argument("--package", help="the published package name, such as signed/vg-binder")
    p.add_argument("--revision", type=int, help="revision number (default: the latest)")
    p.add_argument("--path", default=".", help="repository root (default: .)")
    p.set_defaults(handler=_cmd_esign)
    p = sub.add_parser("publish", help="publish a signed binder to the compliance bucket as one Quilt package")
    p.add_argument("binder", metavar="BINDER.pdf")
    p.add_argument("--target", required=True, help="a target profile name or path (moto: a running valgen deploy)")
    p.add_argument("--package", help="package name (default: signed/<binder document ID>)")
    p.add_argument("--signer", help="also sign the published revision (record signature event, meaning approved)")
    p.add_argument("--keys", type=Path, help="folder holding <signer>.p12 (default: $VALGEN_KEYS_DIR)")
    p.add_argument("--state", type=Path, help="lockout state folder (default: $VALGEN_STATE_DIR or KEYS/state)")
    p.add_argument("--signatories", type=Path, help="signatories file (default: requirements/signatories.yaml)")
    p.add_argument("--revocations", type=Path, help="revocation list (default: revocations.yaml beside it)")
    p.add_argument("--path", default=".", help="repository root (default: .)")
    p.set_defaults(handler=_cmd_esign)
    return parser


class _VersionAction(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs tens of ms at every start)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(f"valgen {_version()}\n")
        raise SystemExit(EXIT_OK)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("valgen")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ValgenError as exc:
        sys.stderr.write(exc.render())
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("valgen: interrupted\n")
        return EXIT_COULD_NOT_RUN
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
