"""Answers to the first four mock-inspection questions (shared/DOMAIN.md) from the live records.

1. Show revision N of package X and prove it has not changed since it was signed.
2. Who signed it, when, and what did the signature mean?
3. Who accessed it in the last 90 days?
4. Give me a PDF of the README, the manifest and the audit trail.

A question the target has no data for is answered "not available on this
target" with the capability table's reason, never with an empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.records.client import RecordsClient, Verification
from generator.records.export import collect_export, write_csv, write_pdf

__all__ = ["Answer", "Inspection", "inspect_package"]

NOT_AVAILABLE = "not available on this target"


@dataclass(frozen=True, slots=True)
class Answer:
    number: int
    question: str
    status: str  # answered | failed | not available
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Inspection:
    package: str
    revision: int
    top_hash: str
    answers: tuple[Answer, ...]
    verification: Verification
    files: tuple[Path, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """False when the record failed verification (the one answer that can say 'altered')."""
        return self.verification.ok


def inspect_package(client: RecordsClient, package: str, number: int | None = None, *,
                    export_dir: Path | None = None) -> Inspection:
    revision = client.revision(package, number)
    verification = client.verify(package, top_hash=revision.top_hash)
    signatures = client.signatures(package, revision.top_hash)
    answers: list[Answer] = []

    # 1. the revision and proof it is unchanged since it was signed
    lines = [f"package {package}, revision {revision.number} of {len(client.revisions(package))}",
             f"top hash {revision.top_hash}, registered {revision.registered}"]
    manifest = client.manifest(revision.top_hash)
    lines.append(f"{len(manifest.entries)} files, {sum(e.size for e in manifest.entries)} bytes")
    locks = [client.lock_of(client.bucket, f".quilt/packages/{revision.top_hash}", None)]
    locks += [client.lock_of(e.bucket, e.key, e.version_id) for e in manifest.entries]
    compliance = [until for mode, until in locks if mode == "COMPLIANCE" and until]
    lines.append(f"Object Lock: {len(compliance)} of {len(locks)} object versions (manifest and files) under "
                 f"COMPLIANCE retention" + (f", the earliest until {min(compliance)}" if compliance else ""))
    if verification.ok:
        lines.append(f"re-hashed from S3 at {verification.checked}: every object read by its version ID matches "
                     "the manifest, and the manifest hashes to the top hash")
        if signatures:
            first = signatures[0].body.get("time", "")
            lines.append(f"the signatures name this top hash (first signed {first}); since the bytes still hash "
                         "to it, the record has not changed since it was signed")
        else:
            lines.append("no signature names this top hash: unchanged since registration, but not signed")
    else:
        lines.append("VERIFICATION FAILED:")
        lines += [f"  {problem}" for problem in verification.failures()]
    answers.append(Answer(1, "Show the revision and prove it has not changed since it was signed",
                          "answered" if verification.ok else "failed", tuple(lines)))

    # 2. who signed, when, meaning
    if signatures:
        lines = [f"{s.body.get('printed_name', '')} ({s.body.get('signer_id', '')}): "
                 f"{s.body.get('meaning', '')} at {s.body.get('time', '')} UTC; event {s.key} "
                 f"written by {s.writer_arn or 'unknown'}, lock {s.lock_mode or 'none'} until {s.retain_until or '-'}"
                 for s in signatures]
        lines += [f"CLOCK: {problem}" for s in signatures if (problem := s.clock_problem()) is not None]
    else:
        lines = ["no signature events for this revision"]
    answers.append(Answer(2, "Who signed it, when, and what did the signature mean?", "answered", tuple(lines)))

    # 3. access in the last 90 days
    capability = client.target.capabilities["access_logs"]
    question = "Who accessed it in the last 90 days?"
    if not capability.present:
        answers.append(Answer(3, question, NOT_AVAILABLE, (f"{NOT_AVAILABLE}: {capability.reason}",)))
    else:
        from generator.records.access import access_events

        try:
            events = access_events(client, package, days=90)
        except Exception as exc:  # the auditor may not read the trail bucket: say so, do not guess
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            answers.append(Answer(3, question, NOT_AVAILABLE, (
                f"{NOT_AVAILABLE}: the trail bucket '{client.target.resources.get('trail_bucket', '')}' could not "
                f"be read as the auditor ({code})",)))
        else:
            lines = [f"{e.time} {e.event} by {e.actor} from {e.source_ip}: {e.key}"
                     + (f" (version {e.version_id})" if e.version_id else "") for e in events]
            answers.append(Answer(3, question, "answered",
                                  tuple(lines) or ("no S3 data events on this package in the last 90 days",)))

    # 4. the human-readable copy
    files: list[Path] = []
    if export_dir is not None:
        export = collect_export(client, package, revision.number, verification=verification)
        stem = f"{package.replace('/', '_')}-r{revision.number}"
        files.append(write_pdf(export, export_dir / f"{stem}.pdf"))
        files += write_csv(export, export_dir / stem)
        lines = [f"wrote {path}" for path in files]
        if export.audit_note:
            lines.append(f"audit trail: registrations and signatures only; {export.audit_note}")
        answers.append(Answer(4, "Give me a PDF of the README, the manifest and the audit trail", "answered",
                              tuple(lines)))
    else:
        answers.append(Answer(4, "Give me a PDF of the README, the manifest and the audit trail", "answered",
                              ("run again with --export DIR to write the PDF and CSV copies",)))
    return Inspection(package, revision.number, revision.top_hash, tuple(answers), verification, tuple(files))
