"""Benchmark: peak RSS of verifying a 1 GiB package of 200 files against the embedded moto target.

issue 4: verifying must stream (constant memory); the bar is peak RSS < 200 MB.
The package is registered by this process (quilt3 as the registrar); verification
runs in a fresh child process that attaches to the same server, so the figure is
the verifier's own peak RSS (ru_maxrss), not the registration's or moto's.

    .venv/bin/python bench/verify_rss.py [--files 200] [--mib-per-file 5.12]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from generator.records import RecordsClient
from generator.targets.moto import attach_moto
from generator.targets.profile import load_profile
profile = load_profile(Path(sys.argv[1]) / "qualification" / "targets" / "moto.yaml")
target = attach_moto(profile, Path(sys.argv[2]))
client = RecordsClient(target)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
result = client.verify(sys.argv[3])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ok": result.ok, "entries": len(result.entries), "bytes": sum(e.size for e in
      client.manifest(result.top_hash).entries), "seconds": seconds, "rss_before_kib": before,
      "peak_rss_kib": peak, "failures": result.failures()[:3]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mib-per-file", type=float, default=1024 / 200)
    args = parser.parse_args()

    from generator.records import RecordsClient
    from generator.targets.deployment import Deployment
    from generator.targets.moto import MotoServer, deploy_moto, write_state
    from generator.targets.profile import load_profile

    profile = load_profile(REPO / "qualification" / "targets" / "moto.yaml")
    size = int(args.mib_per_file * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="valgen-bench-") as tmp, MotoServer() as server:
        folder = Path(tmp) / "pkg"
        folder.mkdir()
        block = os.urandom(1024 * 1024)
        for i in range(args.files):
            with (folder / f"reads_{i:03d}.fastq").open("wb") as handle:
                left = size
                prefix = f"file {i}\n".encode()
                handle.write(prefix)
                left -= len(prefix)
                while left > 0:
                    handle.write(block[: min(left, len(block))])
                    left -= min(left, len(block))
        target = deploy_moto(server, profile, Deployment(workflows_dir=None))
        client = RecordsClient(target)
        start = time.perf_counter()
        client.register(folder, "bench/verify-1gib", message="benchmark", metadata={"bench": True})
        register_s = time.perf_counter() - start
        state = write_state(target, Path(tmp) / "state.json")
        child = subprocess.run([sys.executable, "-c", _CHILD, str(REPO), str(state), "bench/verify-1gib"],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            return 2
        result = json.loads(child.stdout.strip().splitlines()[-1])
    result["register_seconds"] = register_s
    result["peak_rss_mb"] = result["peak_rss_kib"] / 1024
    print(json.dumps(result, indent=2))
    verdict = "PASS" if result["ok"] and result["peak_rss_mb"] < 200 else "FAIL"
    print(f"{verdict}: verified {result['entries']} files, {result['bytes'] / 2**30:.2f} GiB in "
          f"{result['seconds']:.1f} s; verifier peak RSS {result['peak_rss_mb']:.0f} MB (bar: < 200 MB)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
