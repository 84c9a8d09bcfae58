"""Whether a run counts as formal evidence: every executed protocol matches an approved version.

DOMAIN: protocols are approved before execution; executing an unapproved (or
since-changed) protocol yields no formal evidence. This is the one place that
decides; signature verification of the approvals plugs in here later.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.model import Document, Model, fingerprint

__all__ = ["formal_status", "protocol_documents"]


def protocol_documents(model: Model, stages: Sequence[str]) -> list[Document]:
    """The protocol documents (kind iq/oq/pq) of the given stages, in stage order."""
    return [doc for stage in stages for doc in model.documents if doc.kind.value == stage]


def formal_status(model: Model, stages: Sequence[str]) -> tuple[bool, list[str]]:
    """(formal, reasons it is not). Formal only when each executed protocol carries an
    ``approved`` approval whose fingerprint equals the document's current fingerprint."""
    reasons: list[str] = []
    for stage in stages:
        docs = [doc for doc in model.documents if doc.kind.value == stage]
        if not docs:
            reasons.append(f"no {stage.upper()} protocol document was found")
        for doc in docs:
            current = fingerprint(doc)
            where = f"{doc.id} version {doc.version} ({doc.source.path})"
            approvals = [a for a in doc.approvals if a.meaning == "approved"]
            if not approvals:
                reasons.append(f"{where} has no approval with meaning 'approved'")
                continue
            if not any(a.fingerprint == current for a in approvals):
                seen = ", ".join(sorted({a.fingerprint[:19] for a in approvals}))
                reasons.append(
                    f"{where} changed after its approval: approved {seen}…, current {current[:19]}…"
                )
    return (not reasons), reasons
