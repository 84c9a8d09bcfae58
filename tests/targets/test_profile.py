"""Target profiles: the shipped ones load; every problem in a bad one is named with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ValgenError
from generator.targets.profile import ProfileError, find_profile, load_profile

REPO = Path(__file__).resolve().parents[2]


def test_shipped_profiles_load() -> None:
    moto = load_profile(REPO / "qualification" / "targets" / "moto.yaml")
    assert moto.kind == "moto" and moto.buckets["compliance"] == "valgen-records"
    assert set(moto.resource_names()) >= {"compliance_bucket", "replica_bucket", "trail_bucket", "kms_key",
                                          "backup_plan", "admin_role"}
    aws = load_profile(REPO / "qualification" / "targets" / "aws-example.yaml")
    assert aws.kind == "aws" and aws.test_prefix == "valgen-qualification/"
    assert aws.test_packages == moto.test_packages == "ngs/run-valgenq-"
    assert aws.personas["auditor"].role_arn == "arn:aws:iam::111122223333:role/records-auditor"
    assert find_profile("moto", REPO).name == "moto"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_every_problem_is_reported_with_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path, """name: broken
kind: aws
primary_region: eu-west-1
replica_region: eu-west-1
buckets:
  compliance: Bad_Bucket
  replica: ok-replica
  trail: ok-trail
  archive: extra
resources:
  kms_key: k
personas:
  auditor: {role_arn: "not-an-arn"}
  registar: {profile: x}
test_prefix: valgen/
""")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    text = info.value.render()
    assert f"{path}:4:17: error[TARGET001] the replica region equals the primary region" in text
    assert f"{path}:6:15: error[TARGET001] 'buckets': 'compliance' is 'Bad_Bucket', which is not valid" in text
    assert f"{path}:9:3: error[TARGET001] unknown key 'archive' in 'buckets'" in text
    assert f"{path}:14:3: error[TARGET001] unknown key 'registar' in 'personas'" in text
    assert "did you mean 'registrar'?" in text
    assert f"{path}:13:23: error[TARGET001] persona 'auditor': 'role_arn' is 'not-an-arn'" in text
    assert "'resources': missing 'replica_kms_key'" in text
    assert "aws profile: persona 'signer' is not configured" in text
    assert "the profile: missing 'test_packages'" in text  # required on aws, like test_prefix
    assert text.count("  fix: ") == text.count("error[TARGET001]") == text.count("  expected: ")


@pytest.mark.parametrize(("value", "message"), [
    ("ngs/", "the test package prefix 'ngs/' is a whole namespace: every package in it could be written"),
    ("signatures/x", "the test package prefix 'signatures/x' overlaps the signature events"),
    ("ngs/run.x", "'test_packages' is 'ngs/run.x', which is not valid"),
    ("run-", "'test_packages' is 'run-', which is not valid"),
])
def test_test_package_prefix_must_name_only_test_packages(tmp_path: Path, value: str, message: str) -> None:
    text = (REPO / "qualification" / "targets" / "aws-example.yaml").read_text()
    text = text.replace("test_packages: ngs/run-valgenq-", f"test_packages: {value}")
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, text))
    rendered = info.value.render()
    assert message in rendered and ":14:16: error[TARGET001]" in rendered, rendered


def test_yaml_syntax_error_names_the_place(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nkind: [moto\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.render().startswith(f"{path}:")


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ValgenError) as info:
        find_profile("nonexistent", REPO)
    assert info.value.fix is not None and "moto" in info.value.fix


def test_cli_reports_a_bad_profile_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _write(tmp_path, "name: x\nkind: cloud\n")
    proc = subprocess.run([sys.executable, "-m", "generator", "deploy", "--target", str(path)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{path}:2:7: error[TARGET001] the profile: kind 'cloud' is not known" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_schema_accepts_the_shipped_profiles_and_agrees_with_validation(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    from generator.targets.profile import profile_problems, profile_schema

    schema = profile_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    for name in ("moto.yaml", "aws-example.yaml"):
        path = REPO / "qualification" / "targets" / name
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
        assert profile_problems(path) == []
    bad = _write(tmp_path, "name: x\nkind: moto\nprimary_region: us-east-1\nreplica_region: us-west-2\n"
                           "buckets: {compliance: a-b-c, replica: d-e-f, trail: g-h-i, extra: j-k-l}\nresources: {}\n")
    assert not jsonschema.Draft7Validator(schema).is_valid(yaml.safe_load(bad.read_text()))
    assert any("unknown key 'extra'" in p.message for p in profile_problems(bad))
