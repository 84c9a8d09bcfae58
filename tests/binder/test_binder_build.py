"""The binder as data: latest results, matrix, coverage, VSR conclusion, demonstration statement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from binder_factory import make_model, make_run, write_run_dir

from generator.binder import build_binder, load_run_dir
from generator.errors import ValgenError
from generator.model.run import Outcome


def test_all_passed_formal_run_releases_with_demonstration_statement(tmp_path: Path) -> None:
    model = make_model()
    bundle = load_run_dir(write_run_dir(tmp_path, make_run(model)))
    binder = build_binder(model, [bundle])
    assert binder.vsr.release, binder.vsr.release_blockers
    assert binder.vsr.demonstration
    assert "not evidence for a GxP system" in binder.vsr.conclusion
    assert all(c.met for c in binder.vsr.criteria)
    assert [o.total for o in binder.vsr.outcomes] == [2, 3, 1]


def test_aws_run_releases_without_demonstration_statement(tmp_path: Path) -> None:
    model = make_model()
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, make_run(model, kind="aws")))])
    assert binder.vsr.release and not binder.vsr.demonstration
    assert "GxP" not in binder.vsr.conclusion


def test_failed_case_blocks_release_and_opens_deviation(tmp_path: Path) -> None:
    model = make_model()
    run = make_run(model, outcomes={"OQ-001": Outcome.FAILED})
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, run))])
    assert not binder.vsr.release
    assert "OQ-001 failed" in binder.vsr.release_blockers
    assert "DEV-001 is open" in binder.vsr.release_blockers
    assert binder.vsr.deviations_open == 1
    ac1 = next(c for c in binder.vsr.criteria if c.id == "AC-01")
    assert not ac1.met and "OQ-001" in ac1.detail
    assert "NOT released" in binder.vsr.conclusion


def test_not_run_is_never_passed_and_blocks_release(tmp_path: Path) -> None:
    model = make_model()
    run = make_run(model, outcomes={"IQ-002": Outcome.NOT_RUN})
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, run))])
    case = next(c for c in binder.cases if c.id == "IQ-002")
    assert case.outcome is Outcome.NOT_RUN
    assert all(s.outcome is Outcome.NOT_RUN for s in case.steps)
    assert binder.vsr.outcomes[0].not_run == 1 and binder.vsr.outcomes[0].passed == 1
    assert any(b.startswith("IQ-002 not run: target moto") for b in binder.vsr.release_blockers)


def test_latest_result_per_case_wins_across_runs(tmp_path: Path) -> None:
    model = make_model()
    first = make_run(model, run_id="r1", outcomes={"OQ-001": Outcome.FAILED}, finished="2026-01-01T00:10:00Z",
                     deviations_closed=True)
    retest = make_run(model, run_id="r2", finished="2026-01-02T00:10:00Z", stages=("oq",))
    bundles = [load_run_dir(write_run_dir(tmp_path, retest)), load_run_dir(write_run_dir(tmp_path, first))]
    binder = build_binder(model, bundles)
    oq1 = next(c for c in binder.cases if c.id == "OQ-001")
    assert oq1.outcome is Outcome.PASSED and oq1.run_id == "r2"
    iq1 = next(c for c in binder.cases if c.id == "IQ-001")
    assert iq1.run_id == "r1"
    assert [d.id for d in binder.deviations] == ["DEV-001"] and binder.deviations[0].closed
    assert binder.vsr.release, binder.vsr.release_blockers


def test_no_runs_means_every_case_not_run(tmp_path: Path) -> None:
    binder = build_binder(make_model(), [])
    assert all(c.outcome is Outcome.NOT_RUN for c in binder.cases)
    assert not binder.vsr.release
    assert "no run record was given to the build" in binder.vsr.release_blockers
    assert not binder.vsr.demonstration


def test_informal_run_is_not_release(tmp_path: Path) -> None:
    model = make_model()
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, make_run(model, formal=False)))])
    assert not binder.vsr.release
    assert any("not formal evidence" in b for b in binder.vsr.release_blockers)


def test_matrix_rows_trace_clause_to_evidence(tmp_path: Path) -> None:
    model = make_model()
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, make_run(model)))])
    row = next(r for r in binder.matrix if r.clause == "21CFR11.10(a)" and r.urs == "URS-001")
    assert row.fs == ("FS-001",) and row.ds == ("DS-001",)
    assert [(r.id, r.risk_class, r.priority) for r in row.risks] == [("RISK-001", 1, "high")]
    assert [c for c, _ in row.cases] == ["IQ-001", "OQ-001", "OQ-002", "PQ-001"]
    assert row.result is Outcome.PASSED
    assert "runs/20260101T000000Z-abc123/evidence/IQ-001/step-1.json" in row.evidence
    excluded = next(r for r in binder.matrix if r.clause == "21CFR11.200(b)")
    assert excluded.urs is None and excluded.clause_excluded and not excluded.gaps
    training = next(r for r in binder.matrix if r.urs == "URS-003")
    assert training.sops == ("SOP-001",) and not training.gaps


def test_gaps_are_called_out_per_level() -> None:
    binder = build_binder(make_model(extra_urs=2), [])
    urs_level = next(c for c in binder.coverage if c.level == "urs")
    assert urs_level.total == 5 and urs_level.covered == 3
    assert {g.item for g in urs_level.gaps} == {"URS-100", "URS-101"}
    orphan = next(r for r in binder.matrix if r.urs == "URS-100")
    assert orphan.clause is None and "URS-100 traces to no regulation clause" in orphan.gaps
    reg = next(c for c in binder.coverage if c.level == "regulation")
    assert reg.total == 2 and reg.complete  # the excluded clause is justified, not counted
    risk = next(c for c in binder.coverage if c.level == "risk")
    assert risk.complete, risk.gaps  # RISK-001 high: positive OQ-002 and negative OQ-001
    ac4 = next(c for c in binder.vsr.criteria if c.id == "AC-04")
    assert not ac4.met


def test_deliverables_reflect_document_status() -> None:
    binder = build_binder(make_model(approved=False), [])
    plan = binder.vsr.deliverables[0]
    assert plan.name == "Validation Plan" and plan.state == "draft" and not plan.done
    execution = next(d for d in binder.vsr.deliverables if d.name == "IQ execution")
    assert execution.state == "0 of 2 cases executed" and not execution.done


def test_run_dir_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValgenError, match=r"has no run\.json"):
        load_run_dir(tmp_path)
    (tmp_path / "run.json").write_text("{bad", encoding="utf-8")
    with pytest.raises(ValgenError) as exc:
        load_run_dir(tmp_path)
    assert "run.json:1:2" in exc.value.render()
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": "1.0"}), encoding="utf-8")
    with pytest.raises(ValgenError, match="not a run record"):
        load_run_dir(tmp_path)


def test_results_for_unknown_cases_block_release(tmp_path: Path) -> None:
    from dataclasses import replace

    from generator.model.run import CaseResult

    model = make_model()
    run = make_run(model)
    extra = CaseResult(case="OQ-999", stage="oq", title="not in the protocol", outcome=Outcome.PASSED)
    run = replace(run, cases=(*run.cases, extra))
    binder = build_binder(model, [load_run_dir(write_run_dir(tmp_path, run))])
    assert not binder.vsr.release
    assert any("cases not in the protocols: OQ-999" in b for b in binder.vsr.release_blockers)
    assert "OQ-999" not in {c.id for c in binder.cases}
