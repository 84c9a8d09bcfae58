"""Benchmark: sign (three times, in order) and verify a 500-page binder; issue 7 asks < 5 s each on 2 cores.

Run: .venv/bin/python bench/sign_bench.py [--pages 500] [--out bench/out/sign]
Each `valgen sign` / `valgen verify` is timed as a whole CLI process (interpreter
start-up and imports included), the way a user runs it. The binder is the test
binder of generator.esign.fixture (text pages, attachments, three signature
fields); `--binder PDF` times a real binder instead (it must have the fields).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = (("demo-author", "authored"), ("demo-reviewer", "reviewed"), ("demo-qa", "approved"))


CPU: list[float] = []  # CPU seconds (user + system) of each timed run, beside its wall time


def _run(args: list[str], env: dict[str, str]) -> float | None:
    """Seconds for one CLI run; None when approval was refused because the binder's VSR does not release."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "generator", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode == 1 and "does not conclude release" in done.stderr:
        return None
    if done.returncode != 0:
        raise SystemExit(f"valgen {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--binder", type=Path, help="time this binder PDF instead of a generated one")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "sign")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from generator.esign.fixture import build_test_binder
    from generator.esign.keys import write_demo_keys

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    keys = write_demo_keys(args.out / "keys")
    binder = args.out / "binder.pdf"
    if args.binder is not None:
        shutil.copy(args.binder, binder)
    else:
        build_test_binder(binder, pages=args.pages)
    size = binder.stat().st_size
    env = dict(os.environ)
    times: list[tuple[str, float | None]] = []
    for signer, meaning in ORDER:
        env["VALGEN_SIGNING_PASSPHRASE"] = keys.passphrases[signer]
        seconds = _run(["sign", str(binder), "--signer", signer, "--meaning", meaning, "--keys", str(keys.directory),
                        "--signatories", str(keys.signatories)], env)
        times.append((f"sign {meaning}", seconds))
    seconds = _run(["verify", str(binder), "--signatories", str(keys.signatories)], env)
    times.append(("verify (3 signatures)", seconds))
    from pyhanko.pdf_utils.reader import PdfFileReader

    with binder.open("rb") as handle:
        pages = len(PdfFileReader(handle).root["/Pages"]["/Kids"])
    print(f"binder: {pages} pages, {size / 1e6:.1f} MB before signing, {binder.stat().st_size / 1e6:.1f} MB after")
    measured = [(label, value) for label, value in times if value is not None]
    for (label, value), cpu in zip(times, CPU, strict=True):
        if value is None:
            print(f"  {label:<24}   refused: the binder's VSR does not conclude release (not timed)")
        else:
            print(f"  {label:<24} {value:6.2f} s wall, {cpu:5.2f} s CPU  {'OK' if value < 5 else 'OVER 5 s'}")
    print(f"  (load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0 if all(value < 5 for _, value in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
