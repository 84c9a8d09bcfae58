"""Helpers shared by the IQ/OQ/PQ suites: DS read-back and small AWS idioms, written once.

The protocol YAML says what each step does and expects; these helpers do it and
record what actually happened. Expected configuration values always come from
the DS (specs/ds.yaml), never from this code.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

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
    from generator.targets.readback import expected_value, read_setting, value_matches

    ds = verified_ds(model, evidence)
    if len(ds.settings) != len(evidence.case.steps):
        raise StepError(f"{evidence.case.id} has {len(evidence.case.steps)} steps but {ds.id} has "
                        f"{len(ds.settings)} settings; the protocol must read each setting in its own step")
    for number, setting in enumerate(ds.settings, start=1):
        with evidence.step(number) as step:
            if f"`{setting.name}`" not in step.action:
                raise StepError(f"{evidence.case.id} step {number} does not read `{setting.name}` "
                                f"({ds.id} setting {number}); protocol and DS disagree")
            reading = read_setting(target, setting.resource, setting.name, persona=_reader(setting.name))
            step.attach(reading.call, reading.response)
            expected = expected_value(target, setting.value)
            step.compare(f"{setting.resource}.{setting.name}", reading.value, expected,
                         same=value_matches(setting.name, expected, reading.value))
    evidence.raise_if_failed()


# DS-016 gives the administrator the configuration reads; DS-015 gives the auditor the IAM reads and
# object reads (the administrator may not read objects), so each setting is read by the persona allowed to.
_AUDITOR_READS = frozenset({"allowed_actions", "denied_actions", "workflow_config_present", "workflows",
                            "workflow_required"})


def _reader(name: str) -> str:
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
