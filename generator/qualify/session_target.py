"""The session's target for the suites: opened once per pytest process from the target profile.

`open_target` (generator.targets) starts the embedded moto server and applies the
reference deployment from the DS, or connects to an AWS account; each pytest
process (each xdist worker too) opens its own, so suites never share state across
processes and every case creates the records it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import ValgenError

__all__ = ["OpenedTarget", "open_session_target", "records_client"]


@dataclass(frozen=True, slots=True)
class OpenedTarget:
    target: Any
    identity: dict[str, Any]
    caller_arn: str


@contextmanager
def open_session_target(root: Path, name: str) -> Iterator[OpenedTarget]:
    """Yield the target named `name` (profile name or path) for the session."""
    from generator.targets import find_profile, open_target

    profile = find_profile(name, root)
    with open_target(profile, root=root) as target:
        # The suites write only their test objects, on moto as on aws: a moto run thus shows that every
        # write the qualification makes would pass the aws target's guard.
        target.guard_writes()
        ident = target.identity()
        identity = {"profile": ident.profile, "kind": ident.kind, "account": ident.account,
                    "regions": list(ident.regions), "endpoint": ident.endpoint}
        try:
            caller = str(target.client("sts", "admin").get_caller_identity()["Arn"])
        except Exception as exc:  # the identity is evidence, not a precondition: say why it is missing
            caller = f"unknown ({type(exc).__name__})"
        yield OpenedTarget(target=target, identity=identity, caller_arn=caller)


def records_client(target: Any) -> Any:
    """The records client bound to `target` (generator.records)."""
    try:
        from generator.records import RecordsClient
    except ImportError as exc:
        raise ValgenError("the records client (generator.records) is not available", fix="install valgen fully") from exc
    return RecordsClient(target)
