"""The binder as data: matrix, coverage, executed protocols, deviations, VSR — before any format.

`build_binder(model, runs)` computes a `Binder`; `load_run_dir(path)` reads a run
directory. Renderers in `generator.render` only format what is decided here.
"""

from generator.binder.build import DOCUMENT_ORDER, MEASURES, STAGES, build_binder
from generator.binder.model import (
    SIGNATURE_SLOTS,
    Binder,
    CaseOutcomeCount,
    Coverage,
    CriterionResult,
    Deliverable,
    DeviationEntry,
    EvidenceRef,
    ExecutedCase,
    ExecutedStep,
    Gap,
    MatrixRow,
    RiskRef,
    RunSummary,
    SignatureSlot,
    Vsr,
)
from generator.binder.runs import RunBundle, RunFile, load_run_dir, sha256_file

__all__ = [
    "DOCUMENT_ORDER",
    "MEASURES",
    "SIGNATURE_SLOTS",
    "STAGES",
    "Binder",
    "CaseOutcomeCount",
    "Coverage",
    "CriterionResult",
    "Deliverable",
    "DeviationEntry",
    "EvidenceRef",
    "ExecutedCase",
    "ExecutedStep",
    "Gap",
    "MatrixRow",
    "RiskRef",
    "RunBundle",
    "RunFile",
    "RunSummary",
    "SignatureSlot",
    "Vsr",
    "build_binder",
    "load_run_dir",
    "sha256_file",
]
