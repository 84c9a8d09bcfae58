"""Human-readable copies of a record revision (21 CFR 11.10(b)): PDF and CSV of README, metadata, manifest,
signatures and the audit events the target has.

The export is built as data first (`RevisionExport`), then rendered: PDF with
WeasyPrint from a small Jinja2 template, CSV with the standard library. Every
signature is shown with printed name, UTC date and time, and meaning (11.50).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.records.client import Manifest, RecordsClient, Revision, SignatureEvent, Verification

__all__ = ["AuditEvent", "RevisionExport", "collect_export", "write_csv", "write_pdf"]

README_LIMIT = 256 * 1024  # bytes of README shown in the PDF


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event of the record's history: registration, signature, or a trail event where the target has one."""

    time: str  # UTC Z
    event: str
    actor: str
    detail: str
    source: str  # where the event was read from


@dataclass(frozen=True, slots=True)
class RevisionExport:
    revision: Revision
    revisions_total: int
    manifest: Manifest
    readme: str | None
    signatures: tuple[SignatureEvent, ...]
    audit: tuple[AuditEvent, ...]
    audit_note: str  # what the audit section does not hold on this target, and why
    verification: Verification | None
    target_name: str
    target_kind: str
    generated: str  # UTC Z


def _readme(client: RecordsClient, manifest: Manifest) -> str | None:
    for entry in manifest.entries:
        if entry.logical_key.lower() in ("readme.md", "readme.txt", "readme"):
            data = bytearray()
            for chunk in client.read_entry(entry):
                data += chunk[: README_LIMIT - len(data)]
                if len(data) >= README_LIMIT:
                    break
            text = bytes(data).decode("utf-8", errors="replace")
            return text + ("\n[… README truncated in this copy]" if entry.size > README_LIMIT else "")
    return None


def audit_events(client: RecordsClient, package: str, revisions: Sequence[Revision],
                 signatures: Sequence[SignatureEvent]) -> tuple[list[AuditEvent], str]:
    """The record's history the target can show, and a note on what it cannot (capability table)."""
    # S3 keeps when each version was written, not by whom: the writer is in CloudTrail's data events.
    events = [AuditEvent(r.registered, f"registered revision {r.number}", "not recorded in S3 (CloudTrail data event)",
                         f"top hash {r.top_hash}; {r.pointer_key} version {r.pointer_version}", "S3 object versions")
              for r in revisions]
    events += [AuditEvent(str(s.body.get("time", "")), f"signed ({s.body.get('meaning', '')})",
                          f"{s.body.get('printed_name', '')} [{s.body.get('signer_id', '')}]",
                          f"top hash {s.top_hash}; written by {s.writer_arn or 'unknown'}; lock "
                          f"{s.lock_mode or 'none'} until {s.retain_until or '-'}", s.key) for s in signatures]
    note = ""
    capability = client.target.capabilities.get("cloudtrail_events")
    if capability is not None and not capability.present:
        note = f"CloudTrail events not available on this target: {capability.reason}"
    else:
        from generator.records.access import access_events

        try:
            trail = access_events(client, package, days=90)
        except Exception as exc:  # the reader may not read the trail bucket: say so
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            note = f"CloudTrail data events could not be read from the trail bucket ({code})"
        else:
            events += [AuditEvent(e.time, e.event, e.actor, f"{e.key} version {e.version_id or '-'} from "
                                  f"{e.source_ip}", e.log_file) for e in trail]
            note = "CloudTrail S3 data events of the last 90 days are included."
    events.sort(key=lambda e: (e.time, e.event))
    return events, note


def collect_export(client: RecordsClient, package: str, number: int | None = None, *,
                   verification: Verification | None = None) -> RevisionExport:
    from datetime import UTC, datetime

    from generator.records.client import utc_z

    revisions = client.revisions(package)
    revision = client.revision(package, number)
    manifest = client.manifest(revision.top_hash)
    signatures = tuple(client.signatures(package, revision.top_hash))
    audit, note = audit_events(client, package, [r for r in revisions if r.number <= revision.number],
                               client.signatures(package))
    return RevisionExport(revision, len(revisions), manifest, _readme(client, manifest), signatures, tuple(audit),
                          note, verification, client.target.name, client.target.kind, utc_z(datetime.now(UTC)))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ x.revision.package }} revision {{ x.revision.number }}</title>
<style>
@page { size: A4; margin: 18mm 15mm 20mm 15mm;
  @bottom-left { content: "{{ x.revision.package }} r{{ x.revision.number }} · {{ x.revision.top_hash[:16] }}…";
                 font-size: 7.5pt; color: #555; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 7.5pt; color: #555; } }
body { font-family: "FreeSans", sans-serif; font-size: 9.5pt; line-height: 1.35; }
h1 { font-size: 15pt; margin: 0 0 2mm 0; } h2 { font-size: 11.5pt; margin: 6mm 0 2mm 0; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; } thead { display: table-header-group; }
th, td { border: 0.5pt solid #999; padding: 1.2mm 1.5mm; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; } .time { white-space: nowrap; font-size: 8.5pt; }
th { background: #e8e8e8; } tr { page-break-inside: avoid; } .mono { font-family: "FreeMono", monospace; font-size: 8pt; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-family: "FreeMono", monospace; font-size: 8pt;
  border: 0.5pt solid #bbb; padding: 2mm; background: #fafafa; }
.ok { font-weight: bold; } .bad { font-weight: bold; text-decoration: underline; } .note { color: #444; font-style: italic; }
</style></head><body>
<h1>Record {{ x.revision.package }}, revision {{ x.revision.number }} of {{ x.revisions_total }}</h1>
<table><tbody>
<tr><th style="width:28%">Top hash</th><td class="mono">{{ x.revision.top_hash }}</td></tr>
<tr><th>Registered (UTC)</th><td>{{ x.revision.registered }}</td></tr>
<tr><th>Message</th><td>{{ x.manifest.message or "" }}</td></tr>
<tr><th>Workflow</th><td class="mono">{{ x.manifest.workflow | tojson }}</td></tr>
<tr><th>Target</th><td>{{ x.target_name }} ({{ x.target_kind }})</td></tr>
<tr><th>Copy generated (UTC)</th><td>{{ x.generated }}</td></tr>
{% if x.verification %}<tr><th>Verification against S3</th><td>
{% if x.verification.ok %}<span class="ok">UNCHANGED</span>: every object re-hashed by version ID matches the manifest,
and the manifest hashes to its top hash ({{ x.verification.checked }}).
{% else %}<span class="bad">FAILED</span>: {{ x.verification.failures() | join("; ") }}{% endif %}</td></tr>{% endif %}
</tbody></table>

<h2>Signatures</h2>
{% if x.signatures %}<table><thead><tr><th style="width:20%">Printed name</th><th style="width:12%">Meaning</th>
<th style="width:19%">Date and time (UTC)</th><th style="width:14%">Signer ID</th><th>Signed top hash / identity</th></tr></thead><tbody>
{% for s in x.signatures %}<tr><td>{{ s.body.printed_name }}</td><td>{{ s.body.meaning }}</td><td class="time">{{ s.body.time }}</td>
<td>{{ s.body.signer_id }}</td><td class="mono">{{ s.top_hash }}<br>{{ s.writer_arn or "" }}<br>lock {{ s.lock_mode or "none" }}
until {{ s.retain_until or "-" }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="note">This revision carries no signature events.</p>{% endif %}

<h2>README</h2>
{% if x.readme is not none %}<pre>{{ x.readme }}</pre>{% else %}<p class="note">The package has no README.</p>{% endif %}

<h2>Metadata</h2>
<pre>{{ x.manifest.user_meta | tojson(indent=2) }}</pre>

<h2>Manifest ({{ x.manifest.entries | length }} files)</h2>
<table><thead><tr><th style="width:26%">Logical key</th><th style="width:10%">Size (bytes)</th>
<th style="width:34%">Hash</th><th>Object version</th></tr></thead><tbody>
{% for e in x.manifest.entries %}<tr><td class="mono">{{ e.logical_key }}</td><td>{{ e.size }}</td>
<td class="mono">{{ e.hash_type }}: {{ e.hash_value }}</td><td class="mono">{{ e.version_id or "none" }}</td></tr>{% endfor %}
</tbody></table>

<h2>Audit trail</h2>
<table><thead><tr><th style="width:19%">Time (UTC)</th><th style="width:18%">Event</th><th style="width:20%">Actor</th>
<th>Detail</th></tr></thead><tbody>
{% for a in x.audit %}<tr><td class="time">{{ a.time }}</td><td>{{ a.event }}</td><td>{{ a.actor }}</td>
<td class="mono">{{ a.detail }}</td></tr>{% endfor %}</tbody></table>
{% if x.audit_note %}<p class="note">{{ x.audit_note }}</p>{% endif %}
</body></html>
"""


def render_html(export: RevisionExport) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(x=export)


def write_pdf(export: RevisionExport, path: Path) -> Path:
    """Render the export as a PDF (WeasyPrint)."""
    import weasyprint

    path.parent.mkdir(parents=True, exist_ok=True)
    weasyprint.HTML(string=render_html(export)).write_pdf(str(path))
    return path


def write_csv(export: RevisionExport, folder: Path) -> list[Path]:
    """manifest.csv, signatures.csv and audit.csv of the revision (UTF-8, header row)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def table(name: str, header: list[str], rows: list[list[Any]]) -> None:
        path = folder / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(path)

    r = export.revision
    table("manifest.csv", ["package", "revision", "top_hash", "logical_key", "size", "hash_type", "hash",
                           "physical_key", "version_id", "meta"],
          [[r.package, r.number, r.top_hash, e.logical_key, e.size, e.hash_type, e.hash_value, e.physical_key,
            e.version_id or "", json.dumps(e.meta, sort_keys=True)] for e in export.manifest.entries])
    table("signatures.csv", ["package", "top_hash", "printed_name", "meaning", "time_utc", "signer_id",
                             "writer_arn", "lock_mode", "retain_until_utc", "key", "version_id"],
          [[s.body.get("package", ""), s.top_hash, s.body.get("printed_name", ""), s.body.get("meaning", ""),
            s.body.get("time", ""), s.body.get("signer_id", ""), s.writer_arn or "", s.lock_mode or "",
            s.retain_until or "", s.key, s.version_id or ""] for s in export.signatures])
    table("audit.csv", ["time_utc", "event", "actor", "detail", "source"],
          [[a.time, a.event, a.actor, a.detail, a.source] for a in export.audit])
    return written
