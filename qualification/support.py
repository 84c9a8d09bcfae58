"""Helpers shared by the IQ/OQ/PQ suites: DS read-back and small AWS idioms, written once.

The protocol YAML says what each step does and expects; these helpers do it and
record what actually happened. Expected configuration values always come from
the DS (specs/ds.yaml), never from this code.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from generator.model import DesignSpec, LinkKind, Model
from generator.qualify.evidence import Evidence, StepError


def verified_ds(model: Model, evidence: Evidence) -> DesignSpec:
    """The one DS item with settings that the case verifies (IQ cases verify exactly one)."""
    found = [model.items.get(link.target) for link in evidence.case.links_of(LinkKind.VERIFIES)]
    specs = [item for item in found if isinstance(item, DesignSpec) and item.settings]
    if len(specs) != 1:
        raise StepError(f"{evidence.case.id} must verify exactly one DS item with settings; found "
                        f"{[s.id for s in specs]}")
    return specs[0]


def read_back_ds(target: Any, evidence: Evidence, model: Model) -> None:
    """IQ: read every setting of the verified DS item from the live target; step i reads setting i.

    Every setting is read even after a mismatch (the protocol asks for each value);
    the case fails at the end if any differed.
    """
    from generator.model.run import Outcome
    from generator.targets.capabilities import readback_limits
    from generator.targets.readback import expected_value, read_setting, value_matches

    limits = readback_limits(target.kind)
    not_shown: list[str] = []
    ds = verified_ds(model, evidence)
    if len(ds.settings) != len(evidence.case.steps):
        raise StepError(f"{evidence.case.id} has {len(evidence.case.steps)} steps but {ds.id} has "
                        f"{len(ds.settings)} settings; the protocol must read each setting in its own step")
    for number, setting in enumerate(ds.settings, start=1):
        with evidence.step(number) as step:
            if f"`{setting.name}`" not in step.action:
                raise StepError(f"{evidence.case.id} step {number} does not read `{setting.name}` "
                                f"({ds.id} setting {number}); protocol and DS disagree")
            reading = read_setting(target, setting.resource, setting.name,
                                   persona=_reader(setting.name, setting.resource))
            step.attach(reading.call, reading.response)
            reason = limits.get((setting.resource, setting.name))
            if reason is not None:
                # the target answers, but not truthfully: record what it said and compare nothing
                step.record(f"{setting.resource}.{setting.name} not compared ({reading.value!r} answered): {reason}")
                step.outcome = Outcome.NOT_RUN
                not_shown.append(f"{setting.resource}.{setting.name}: {reason}")
                continue
            expected = expected_value(target, setting.value)
            step.compare(f"{setting.resource}.{setting.name}", reading.value, expected,
                         same=value_matches(setting.name, expected, reading.value))
    evidence.raise_if_failed()
    if not_shown:
        # every other value matched; the case cannot be called passed while one value was not shown
        pytest.skip("; ".join(not_shown))


# DS-016 gives the administrator the configuration reads; DS-015 gives the auditor the IAM reads and
# object reads (the administrator may not read objects), so each setting is read by the persona allowed to.
_AUDITOR_READS = frozenset({"allowed_actions", "denied_actions", "workflow_config_present", "workflows",
                            "workflow_required"})


def _reader(name: str, resource: str) -> str:
    # Account-level settings (s3control) are read by the profile's read-only configuration identity: no
    # persona of DS-013..016 is meant to hold account-wide reads.
    if resource == "account":
        return "reader"
    return "auditor" if name in _AUDITOR_READS else "admin"


def fresh_key(target: Any, case_id: str, name: str = "object.txt") -> str:
    """A fresh key under the profile's test prefix (the aws target writes nowhere else)."""
    return f"{target.profile.test_prefix}{case_id.lower()}-{uuid.uuid4().hex[:12]}/{name}"


def signature_fresh_key(target: Any, case_id: str) -> str:
    """A fresh key under signatures/ for a test package of the test prefix (where the signer may write)."""
    return "signatures/" + fresh_key(target, case_id, "event.json")


def privileged(target: Any, service: str, region: str | None = None) -> Any:
    """The most privileged client the target offers: moto's deploying identity, else the administrator persona.

    Lock behaviour (COMPLIANCE, legal hold) must hold against every identity; on moto the
    deploying identity has full rights, so a refusal shows the lock, not a missing permission.
    """
    if target.kind == "moto":
        return target.deployer_client(service, region)
    return target.client(service, "admin", region)


def privileged_name(target: Any) -> str:
    return "the deploying identity (full rights)" if target.kind == "moto" else "the administrator persona"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


# ---------------------------------------------------------------- NGS run packages and signing (PQ, OQ)

NGS_METADATA: dict[str, Any] = {
    "record_type": "ngs-run",
    "instrument": {"model": "NovaSeq 6000", "serial": "A00123"},
    "run_date": "2026-11-20T08:00:00Z",
    "operator": "j.doe",
    "pipeline": {"name": "nf-core/rnaseq", "version": "3.14.0", "container_digest": "sha256:" + "ab" * 32},
    "reference_genome": "GRCh38",
    "sample_count": 2,
}


def ngs_metadata(run_id: str) -> dict[str, Any]:
    return {**NGS_METADATA, "run_id": run_id}


def ngs_package(folder: Any, run_id: str, revision: int = 1) -> Any:
    """A complete NGS run package folder as the ngs-run workflow requires (DS-025)."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"# NGS run {run_id}\n\nRevision {revision} of the run record: two samples "
                                      "sequenced on a NovaSeq 6000, processed with nf-core/rnaseq 3.14.0.\n")
    (folder / "samples.csv").write_text(f"sample_id,fastq,reads\nS1,fastq/S1.fastq.gz,{1000 + revision}\n"
                                        "S2,fastq/S2.fastq.gz,2000\n")
    (folder / "fastq").mkdir(exist_ok=True)
    for sample in ("S1", "S2"):
        reads = "".join(f"@{sample}.{i}\nACGTACGTAC\n+\nIIIIIIIIII\n" for i in range(20))
        (folder / "fastq" / f"{sample}.fastq.gz").write_bytes(gzip.compress(reads.encode(), mtime=0))
    (folder / "qc").mkdir(exist_ok=True)
    (folder / "qc" / "multiqc_report.html").write_text("<html><body>QC passed for S1 and S2</body></html>\n")
    (folder / "pipeline").mkdir(exist_ok=True)
    (folder / "pipeline" / "versions.json").write_text('{"nf-core/rnaseq": "3.14.0", "STAR": "2.7.11a"}\n')
    return folder


def package_name(target: Any, label: str) -> str:
    """<test package prefix><label>-<random> (ngs/run-valgenq-pq001-… by default): unique per case and run, a
    name the ngs-run workflow accepts, and under the prefix the write guard allows (generator.targets.base)."""
    return f"{target.profile.test_packages}{label}-{uuid.uuid4().hex[:10]}"


class TestSigners:
    """The qualification test signers (demo keys written to a scratch folder) and the signing steps."""

    __test__ = False

    def __init__(self, folder: Any) -> None:
        from generator.esign.keys import write_demo_keys
        from generator.esign.signatories import load_signatories

        self.keys = write_demo_keys(folder)
        self.signatories = load_signatories(self.keys.signatories, self.keys.revocations)
        self.state = folder / "state"
        self.state.mkdir(exist_ok=True)

    def unlock(self, signer_id: str, passphrase: str | None = None) -> Any:
        """Both identification components: signer ID and the PKCS#12 passphrase (11.200(a))."""
        import datetime as dt

        from generator.esign.identity import Lockout, PassphraseSource, unlock_credential

        signer = self.signatories.signer(signer_id)
        if signer is None:
            raise StepError(f"test signer {signer_id} is not in {self.keys.signatories}")
        secret = passphrase if passphrase is not None else self.keys.passphrases[signer_id]
        source = PassphraseSource(kind="environment", ask=lambda: secret, retries=False)
        return unlock_credential(signer, self.keys.keys[signer_id], source, Lockout(self.state),
                                 dt.datetime.now(dt.UTC))

    def event(self, credential: Any, package: str, revision: Any, meaning: str) -> dict[str, Any]:
        import datetime as dt

        from generator.esign.publish import record_event

        return record_event(package, revision.top_hash, revision.number, credential.signer.id,
                            credential.signer.name, meaning, dt.datetime.now(dt.UTC).replace(microsecond=0),
                            credential.signer.fingerprint, "environment", credential.private_key)

    def problem(self, event: dict[str, Any], top_hash: str) -> str | None:
        """The esign verification of a record signature event against a revision's top hash (None: valid)."""
        from generator.esign.publish import _check_record_event

        return _check_record_event(dict(event), self.signatories, top_hash)

    def revoke(self, signer_id: str, revoked_at: str, reason: str) -> None:
        """Add a revocation (valgen-revocations/1) and reload the signatories (FS-035)."""
        import yaml

        from generator.esign.signatories import load_signatories

        data = yaml.safe_load(self.keys.revocations.read_text()) or {}
        data.setdefault("format", "valgen-revocations/1")
        entries = list(data.get("revocations") or [])
        entries.append({"signer": signer_id, "revoked_at": revoked_at, "reason": reason})
        data["revocations"] = entries
        self.keys.revocations.write_text(yaml.safe_dump(data, sort_keys=False))
        self.signatories = load_signatories(self.keys.signatories, self.keys.revocations)
