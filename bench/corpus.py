"""Synthetic content corpus for benchmarks: N items across every kind, in the real YAML format.

Proportions follow a real validation package (per 100 items: 2 clauses, 12 URS,
8 risks, 16 FS, 20 DS, 4 SOPs, 14 IQ, 16 OQ, 8 PQ), texts are 1-4 sentences,
and links fan out 1-3 per item to parents of the right kind, so `valgen check`
finds a clean, fully covered corpus. Files hold at most 500 items each.

    python bench/corpus.py N OUT_DIR [--seed S]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

SHARES = [("clause", 2), ("urs", 12), ("risk", 8), ("fs", 16), ("ds", 20), ("sop", 4),
          ("iq", 14), ("oq", 16), ("pq", 8)]
FOLDER = {"clause": "requirements", "urs": "requirements", "risk": "requirements", "fs": "specs", "ds": "specs",
          "sop": "sops", "iq": "qualification", "oq": "qualification", "pq": "qualification"}
DOC_KIND = {"clause": "regulations"}
WORDS = ["record", "package", "bucket", "version", "retention", "signature", "audit", "trail", "registration", "manifest", "hash", "key", "rotation", "replica", "region", "auditor", "registrar", "workflow", "schema", "metadata", "export", "inspection", "access", "policy", "role", "deny", "allow", "object", "lock", "compliance", "governance", "encryption", "backup", "restore", "clock", "time", "operator", "reviewer", "approver", "evidence", "deviation", "protocol", "verify", "retrieve", "revision"]
PER_FILE = 500


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return (" ".join(words)).capitalize() + "."


def text(rng: random.Random, low: int = 1, high: int = 4) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(low, high)))


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ids(kind: str, count: int) -> list[str]:
    if kind == "clause":
        return [f"21CFR11.{10 + i // 26}({chr(97 + i % 26)})" for i in range(count)]
    return [f"{kind.upper()}-{i + 1:05d}" for i in range(count)]


def generate(total: int, out: Path, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    weight = sum(share for _, share in SHARES)
    counts = {kind: max(2, total * share // weight) for kind, share in SHARES}
    all_ids = {kind: ids(kind, n) for kind, n in counts.items()}
    # every parent gets at least one child: child i links to parent i mod len(parents), plus random extras
    def parents(kind: str, index: int, fan: int = 2) -> list[str]:
        pool = all_ids[kind]
        chosen = {pool[index % len(pool)]}
        for _ in range(rng.randint(0, fan)):
            chosen.add(rng.choice(pool))
        return sorted(chosen)

    for kind, _ in SHARES:
        lines_per_item: list[str] = []
        for i, item_id in enumerate(all_ids[kind]):
            rec = [f"  - id: {quote(item_id)}", f"    title: {quote(sentence(rng)[:70])}"]
            if kind == "clause":
                rec += [f"    text: {quote(text(rng))}", "    regulation: 21 CFR Part 11"]
            elif kind == "urs":
                rec += [f"    text: {quote(text(rng))}", f"    priority: {rng.choice(['high', 'medium', 'low'])}",
                        f"    rationale: {quote(sentence(rng))}",
                        f"    traces_to: [{', '.join(quote(p) for p in parents('clause', i))}]"]
            elif kind == "risk":
                # medium severity x medium probability -> class 2; detectability high -> priority low
                rec += [f"    scenario: {quote(text(rng))}", "    severity: medium", "    probability: medium",
                        "    detectability: high", "    risk_class: 2", "    priority: low",
                        f"    residual_risk: {quote(sentence(rng))}",
                        f"    affects: [{', '.join(parents('urs', i))}]",
                        f"    mitigated_by: [{', '.join(parents('fs', i, 1))}]"]
            elif kind == "fs":
                rec += [f"    text: {quote(text(rng))}", f"    satisfies: [{', '.join(parents('urs', i))}]"]
            elif kind == "ds":
                rec += [f"    text: {quote(text(rng))}", f"    implements: [{', '.join(parents('fs', i))}]",
                        "    settings:",
                        "      - {name: versioning_status, resource: compliance_bucket, value: Enabled}",
                        f"      - {{name: object_lock_retention_days, resource: compliance_bucket, value: {2555}}}"]
            elif kind == "sop":
                rec += [f"    purpose: {quote(text(rng))}", f"    fulfils: [{', '.join(parents('urs', i))}]",
                        "    responsibilities:", f"      - {quote(sentence(rng))}", "    procedure:"]
                rec += [f"      - {quote(sentence(rng))}" for _ in range(rng.randint(3, 8))]
            else:
                target_kind = "ds" if kind == "iq" else ("fs" if kind == "oq" else "urs")
                rec += [f"    objective: {quote(text(rng, 1, 2))}",
                        f"    polarity: {'positive' if i % 2 == 0 else 'negative'}",
                        f"    verifies: [{', '.join(parents(target_kind, i))}]",
                        "    prerequisites:", f"      - {quote(sentence(rng))}", "    steps:"]
                for step in range(1, rng.randint(2, 6) + 1):
                    rec += [f"      - step: {step}", f"        action: {quote(sentence(rng))}",
                            f"        expected: {quote(sentence(rng))}"]
                rec += [f"    acceptance: {quote(sentence(rng))}"]
            lines_per_item.append("\n".join(rec))
        folder = out / FOLDER[kind]
        folder.mkdir(parents=True, exist_ok=True)
        for part, start in enumerate(range(0, len(lines_per_item), PER_FILE)):
            doc_kind = DOC_KIND.get(kind, kind)
            header = (f"document:\n  id: BENCH-{kind.upper()}-{part + 1}\n  kind: {doc_kind}\n"
                      f"  title: Benchmark {kind} part {part + 1}\n  version: \"1.0\"\n  owner: Benchmark\n"
                      f"  status: draft\nitems:\n")
            body = "\n".join(lines_per_item[start:start + PER_FILE])
            (folder / f"{kind}-{part + 1:03d}.yaml").write_text(header + body + "\n", encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = generate(args.n, args.out, args.seed)
    print(f"wrote {sum(counts.values())} items to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
