"""Targets: where the records system under qualification lives — the embedded moto server or an AWS account.

API summary (what the qualification plugin, the records client and `valgen deploy` use)::

    from generator.targets import open_target, find_profile, capabilities

    profile = find_profile("moto")                   # or a path; qualification/targets/<name>.yaml
    with open_target(profile, root=Path(".")) as target:   # moto: starts server + deploys DS; aws: connects
        target.kind, target.name, target.account, target.endpoint        # endpoint None on real AWS
        target.resources["compliance_bucket"]       # every SETTINGS.md resource -> bucket name, key ARN,
                                                    # trail name, backup plan ID, role name, account ID
        target.region_of("replica_bucket")           # primary or replica region
        s3 = target.client("s3", "auditor")          # personas: registrar, signer, auditor, admin
        target.session("registrar")                  # boto3.Session as the persona role (assumed)
        target.capabilities["replication_copies"]    # Capability(name, present, reason)
        target.identity()                            # TargetIdentity for the run record

Moto specifics (generator.targets.moto)::

    with MotoServer() as server:                     # child process on 127.0.0.1:<free port>, IAM enforced
        good = deploy_moto(server, profile, deployment_from_repository(root))
        bad = deploy_moto(server, profile, dataclasses.replace(good.deployment,
                          compliance=dataclasses.replace(good.deployment.compliance, lock_mode="GOVERNANCE")),
                          suffix="governance")       # its own moto account, names suffixed
        bad.deployer_client("s3")                    # an all-powerful client, for tampering in tests
        good.personas["auditor"].access_key_id       # the persona's IAM user keys (what `valgen deploy` prints)

`valgen deploy` records its running deployment in ``build/moto-deploy.json``;
``attach_moto(profile, state_path(root))`` gives a MotoTarget on it from another
process (`valgen inspect` does this).

`Deployment` (generator.targets.deployment) holds every DS setting as a typed
value; `deployment_from_repository(root)` reads it from ``specs/`` (DS settings)
and ``specs/workflows/``; `Deployment()` is the reference of specs/SETTINGS.md.
`read_setting(target, resource, name)` (generator.targets.readback) reads one DS
setting back from a live target, for IQ (as the read-only ``reader`` identity;
`readback_limits(kind)` lists the settings a target kind cannot read back
truthfully, with the reason). The capability table is
`generator.targets.capabilities`: ``capabilities(kind)[name] -> Capability(name,
present, reason)``, ``missing(kind, required)``. The aws target (generator.targets.aws) only
reads configuration and writes its test objects: keys under the profile's ``test_prefix``
and packages named under its ``test_packages`` (`Target.check_write`; a qualification
session guards a moto target the same way).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from generator.targets.base import Target
from generator.targets.capabilities import Capability, capabilities, missing
from generator.targets.deployment import Deployment, deployment_from_repository
from generator.targets.profile import TargetProfile, find_profile, load_profile

__all__ = [
    "Capability",
    "Deployment",
    "Target",
    "TargetProfile",
    "capabilities",
    "deployment_from_repository",
    "find_profile",
    "load_profile",
    "missing",
    "open_target",
]


@contextlib.contextmanager
def open_target(profile: TargetProfile, *, root: Path | None = None,
                deployment: Deployment | None = None) -> Iterator[Target]:
    """Open the target a profile names. moto: start a server, apply `deployment` (default: the DS of `root`),
    stop the server on exit. aws: connect with the profile's personas (nothing is deployed)."""
    if profile.kind == "moto":
        from generator.targets.moto import moto_target

        dep = deployment if deployment is not None else deployment_from_repository(root or Path.cwd())
        with moto_target(profile, dep) as target:
            yield target
    else:
        from generator.targets.aws import AwsTarget

        yield AwsTarget(profile)
