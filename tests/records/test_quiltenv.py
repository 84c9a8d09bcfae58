"""quilt3 keeps its state under valgen's state folder, never the user's home, however it was imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys
if sys.argv[1] == "early":
    import quilt3  # imported before valgen: its constants point at the home folder
from generator.records.quiltenv import quilt3_module, state_dir
q = quilt3_module()
import quilt3.packages, quilt3.session, quilt3.api
print(json.dumps({"state": str(state_dir()), "paths": [str(p) for p in (q.util.BASE_PATH, q.util.CACHE_PATH,
      q.util.CONFIG_PATH, q.util.TEMPFILE_DIR_PATH, q.session.AUTH_PATH, q.session.CREDENTIALS_PATH,
      q.packages.CACHE_PATH, q.packages.APP_DIR_TEMPFILE_DIR, q.api.CONFIG_PATH)],
      "cache": q.util.IS_CACHE_ENABLED, "hook": q.hooks.get_build_s3_client_hook() is not None}))
"""


def _probe(mode: str, tmp_path: Path) -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "VALGEN_QUILT_HOME": str(tmp_path / "state")}
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_quilt3_state_is_under_the_state_folder(tmp_path: Path) -> None:
    for mode in ("late", "early"):
        result = _probe(mode, tmp_path)
        assert result["state"] == str(tmp_path / "state")
        paths = result["paths"]
        assert isinstance(paths, list)
        assert all(p.startswith(str(tmp_path / "state")) for p in paths), (mode, paths)
        assert result["cache"] is False and result["hook"] is True
    assert not (tmp_path / "home" / ".local" / "share" / "Quilt" / "config.yml").exists()


_CONFIG_PROBE = r"""
import json, pathlib
from generator.records.quiltenv import quilt3_module
q = quilt3_module()
seen = [q.util.get_from_config("navigator_url")]
q.util.set_config_value("navigator_url", "https://one.invalid")   # quilt3 rewrites its config file
seen.append(q.util.get_from_config("navigator_url"))
path = pathlib.Path(q.util.CONFIG_PATH)
path.write_text(path.read_text().replace("https://one.invalid", "https://second-writer.invalid"))
seen.append(q.util.get_from_config("navigator_url"))
q.util.load_config()["navigator_url"] = "changed by a caller"   # a caller's copy, not the kept config
seen.append(q.util.get_from_config("navigator_url"))
print(json.dumps(seen))
"""


def test_quilt3_config_is_read_again_when_its_file_changes(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "VALGEN_QUILT_HOME": str(tmp_path / "state")}
    out = subprocess.run([sys.executable, "-c", _CONFIG_PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [None, "https://one.invalid", "https://second-writer.invalid",
                                                         "https://second-writer.invalid"]
