"""Records: talking to the records system — register, list, browse, verify, sign and export Quilt packages.

API summary (the qualification suites, `valgen inspect` and `valgen publish` use it)::

    from generator.records import RecordsClient
    client = RecordsClient(target)                 # a generator.targets Target; reads as the auditor
    rev = client.register(folder, "ngs/run-001", message="...", metadata={...}, workflow="ngs-run")
                                                   # quilt3 push as the registrar, workflow enforced;
                                                   # a refusal raises ValgenError with quilt3's reason
    client.revisions("ngs/run-001")                # [Revision(package, number, top_hash, registered, ...)]
    client.all_revisions("ngs/run-", max_workers=8)  # {package: [Revision, ...]} for every package under
                                                   # the prefix, from one listing of the pointer versions
    rev, manifest = client.browse("ngs/run-001", 2)        # Manifest(top_hash, meta, entries)
    result = client.verify("ngs/run-001", 2)       # Verification: .ok, .failures() (names each object)
    client.write_signature(event)                  # event dict of specs/workflows/signature-event.schema.json,
                                                   # stored Object-Locked at signatures/<pkg>/<top hash>/...
    client.signatures("ngs/run-001", rev.top_hash) # [SignatureEvent(body, key, version_id, writer_arn, lock..., stored)]; .clock_problem() (FS-029)
    client.packages()                              # every package name

    from generator.records import inspect_package, collect_export, write_pdf, write_csv
    inspect_package(client, "ngs/run-001", 2, export_dir=Path("out"))   # mock-inspection questions 1-4

quilt3 runs with its state under ``$VALGEN_QUILT_HOME`` (default ``<tmp>/valgen-quilt-<uid>``), never the
user's home, and with its S3 clients bound to the persona and endpoint of the target (see quiltenv).
"""

from generator.records.client import (
    EntryCheck,
    Manifest,
    ManifestEntry,
    RecordsClient,
    Revision,
    SignatureEvent,
    Verification,
    hash_stream,
)
from generator.records.export import collect_export, write_csv, write_pdf
from generator.records.inspect import Inspection, inspect_package

__all__ = [
    "EntryCheck",
    "Inspection",
    "Manifest",
    "ManifestEntry",
    "RecordsClient",
    "Revision",
    "SignatureEvent",
    "Verification",
    "collect_export",
    "hash_stream",
    "inspect_package",
    "write_csv",
    "write_pdf",
]
