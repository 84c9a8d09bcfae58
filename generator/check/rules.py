"""The model rules of `valgen check`: identity, links, coverage, risk method and change control."""

from __future__ import annotations

from collections.abc import Iterator

from generator import model as m
from generator.check import Coverage, finding, rule
from generator.model.findings import Finding

# -- identity ---------------------------------------------------------------------------------


@rule("ID001")
def duplicate_item_ids(model: m.Model) -> Iterator[Finding]:
    first: dict[str, m.Item] = {}
    for item in model.all_items():
        seen = first.get(item.id)
        if seen is None:
            first[item.id] = item
            continue
        yield finding("ID001", item.source, f"{item.id} is already defined at {seen.source}",
                      "each ID defined once across all files")


@rule("ID002")
def duplicate_document_ids(model: m.Model) -> Iterator[Finding]:
    first: dict[str, m.Document] = {}
    for doc in model.documents:
        seen = first.setdefault(doc.id, doc)
        if seen is not doc:
            yield finding("ID002", doc.source, f"document ID {doc.id} is already used by {seen.source.path}",
                          "each document ID used by one file")


# -- links ------------------------------------------------------------------------------------


@rule("LNK001")
def dangling_links(model: m.Model) -> Iterator[Finding]:
    for item in model.all_items():
        for link in item.links:
            if link.target not in model.items:
                kinds = m.LINK_RULES[link.kind][1]
                example = " or ".join(m.ID_EXAMPLES[k] for k in sorted(kinds))
                yield finding("LNK001", link.source,
                              f"{item.id} {link.kind.value.replace('_', ' ')} '{link.target}', which is not defined",
                              f"the ID of a defined item, such as {example}")


@rule("LNK002")
def wrong_link_kinds(model: m.Model) -> Iterator[Finding]:
    for item in model.all_items():
        for link in item.links:
            target = model.items.get(link.target)
            if target is None:
                continue
            allowed = m.LINK_RULES[link.kind][1]
            if target.kind not in allowed:
                names = ", ".join(k.upper() if k != "clause" else "regulation clause" for k in sorted(allowed))
                yield finding("LNK002", link.source,
                              f"{item.id} {link.kind.value.replace('_', ' ')} {target.id}, {m.KIND_NAMES[target.kind]}",
                              f"'{link.kind.value}' links to: {names}")


@rule("LNK003")
def link_cycles(model: m.Model) -> Iterator[Finding]:
    # 'related' links between clauses are symmetric by nature and are not part of the trace.
    # Links of the right kinds always point one level up the trace (test -> risk -> DS/SOP -> FS ->
    # URS -> clause), so only a wrong-kind link can close a cycle: without one there is nothing to search.
    if not any(
        (parent := model.items.get(lk.target)) is not None and parent.kind not in m.LINK_RULES[lk.kind][1]
        for item in model.all_items() for lk in item.links if lk.kind is not m.LinkKind.RELATED
    ):
        return
    graph: dict[str, list[m.Link]] = {}
    for item in model.all_items():
        graph.setdefault(item.id, []).extend(lk for lk in item.links if lk.kind is not m.LinkKind.RELATED)
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    reported: set[frozenset[str]] = set()
    for start in graph:
        if colour[start] != white:
            continue
        # iterative DFS keeping the path, so deep chains cannot overflow the stack
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        colour[start] = grey
        while stack:
            node, index = stack[-1]
            edges = graph.get(node, [])
            if index < len(edges):
                stack[-1] = (node, index + 1)
                target = edges[index].target
                state = colour.get(target)
                if state is None:
                    continue
                if state == grey:
                    cycle = [*path[path.index(target):], target]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        yield finding("LNK003", edges[index].source, "links form a cycle: " + " → ".join(cycle),
                                      "links from child to parent only, never back")
                elif state == white:
                    colour[target] = grey
                    stack.append((target, 0))
                    path.append(target)
            else:
                colour[node] = black
                stack.pop()
                path.pop()


@rule("LNK004")
def links_to_retired(model: m.Model) -> Iterator[Finding]:
    for item in model.all_items():
        if item.status == "retired":
            continue
        for link in item.links:
            target = model.items.get(link.target)
            if target is not None and target.status == "retired":
                yield finding("LNK004", link.source, f"{item.id} links to {target.id}, which is retired",
                              "links to active items")


# -- coverage ---------------------------------------------------------------------------------


def _active(model: m.Model, kind: str) -> list[m.Item]:
    return [item for item in model.of_kind(kind) if item.status == "active"]


@rule("COV001")
def urs_traces_to_clause(model: m.Model) -> Iterator[Finding]:
    for urs in _active(model, "urs"):
        if not any(model.items.get(lk.target, None) is not None for lk in urs.links_of(m.LinkKind.TRACES_TO)):
            yield finding("COV001", urs.source, f"{urs.id} traces to no regulation clause",
                          "traces_to: [clause ID, ...], such as 21CFR11.10(e)")


@rule("COV002")
def urs_satisfied_by_fs(model: m.Model) -> Iterator[Finding]:
    children = model.children()
    for urs in _active(model, "urs"):
        if not any(kind is m.LinkKind.SATISFIES and child.status == "active" for kind, child in
                   children.get(urs.id, [])):
            yield finding("COV002", urs.source, f"{urs.id} is satisfied by no FS",
                          f"an FS item with 'satisfies: [{urs.id}]'")


@rule("COV003")
def fs_implemented_or_tested(model: m.Model) -> Iterator[Finding]:
    children = model.children()
    for fs in _active(model, "fs"):
        if not any(kind in (m.LinkKind.IMPLEMENTS, m.LinkKind.VERIFIES) and child.status == "active"
                   for kind, child in children.get(fs.id, [])):
            yield finding("COV003", fs.source, f"{fs.id} is implemented by no DS and verified by no test case",
                          f"a DS with 'implements: [{fs.id}]' or a test case with 'verifies: [{fs.id}]'")


@rule("COV004")
def clause_covered(model: m.Model) -> Iterator[Finding]:
    children = model.children()
    for clause in _active(model, "clause"):
        if not isinstance(clause, m.Clause) or clause.exclusion:
            continue
        if not any(kind is m.LinkKind.TRACES_TO and child.status == "active"
                   for kind, child in children.get(clause.id, [])):
            yield finding("COV004", clause.source, f"{clause.id} is covered by no URS and has no exclusion",
                          f"a URS with 'traces_to: [{clause.id}]', or 'exclusion: <justification>'")


def _high_risks(model: m.Model) -> list[m.Risk]:
    return [r for r in _active(model, "risk") if isinstance(r, m.Risk) and r.priority == "high"]


@rule("COV005")
def high_risk_mitigated(model: m.Model) -> Iterator[Finding]:
    for risk in _high_risks(model):
        if not any(lk.target in model.items for lk in risk.links_of(m.LinkKind.MITIGATED_BY)):
            yield finding("COV005", risk.source, f"{risk.id} has priority high and no mitigation",
                          "mitigated_by: [FS, DS or SOP IDs]")


@rule("COV006")
def high_risk_tested(model: m.Model) -> Iterator[Finding]:
    children = model.children()
    for risk in _high_risks(model):
        scripted = [child for kind, child in children.get(risk.id, [])
                    if kind is m.LinkKind.VERIFIES and isinstance(child, m.TestCase) and not child.manual
                    and child.status == "active"]
        missing = [p for p in ("positive", "negative") if not any(c.polarity == p for c in scripted)]
        if missing:
            yield finding("COV006", risk.source,
                          f"{risk.id} has priority high but no {' and no '.join(missing)} scripted test case verifies it",
                          "at least one positive and one negative scripted case with 'verifies: [" + risk.id + "]'")


@rule("RSK001")
def risk_method(model: m.Model) -> Iterator[Finding]:
    for risk in model.of_kind("risk"):
        if not isinstance(risk, m.Risk):
            continue
        levels = (risk.severity, risk.probability, risk.detectability)
        if not all(level in m.RISK_LEVELS for level in levels):
            continue  # already reported by the schema
        risk_class, priority = m.classify_risk(*levels)
        if (risk.risk_class, risk.priority) != (risk_class, priority):
            yield finding("RSK001", risk.source,
                          f"{risk.id} states class {risk.risk_class}, priority {risk.priority}; severity "
                          f"{risk.severity} × probability {risk.probability} × detectability {risk.detectability} "
                          f"gives class {risk_class}, priority {priority}",
                          f"risk_class: {risk_class}, priority: {priority}")


# -- change control ---------------------------------------------------------------------------


@rule("CHG001")
def suspect_links(model: m.Model) -> Iterator[Finding]:
    current: dict[str, str] = {}
    for item in model.all_items():
        for link in item.links:
            if link.fingerprint is None:
                continue
            target = model.items.get(link.target)
            if target is None:
                continue
            now = current.get(target.id)
            if now is None:
                now = current[target.id] = m.fingerprint(target)
            if now != link.fingerprint:
                yield finding("CHG001", link.source,
                              f"{item.id} → {target.id} is suspect: {target.id} changed since the link was reviewed",
                              f"fingerprint {now}",
                              f"review {item.id} against the new {target.id}, then set its link fingerprint to {now}")


@rule("CHG002")
def stale_approvals(model: m.Model) -> Iterator[Finding]:
    for doc in model.documents:
        if not doc.approvals:
            continue
        now = m.fingerprint(doc)
        for approval in doc.approvals:
            if approval.fingerprint != now:
                yield finding("CHG002", approval.source,
                              f"{doc.id} version {doc.version} changed after {approval.name} "
                              f"({approval.meaning}, {approval.time}) approved it",
                              f"an approval of the current content ({now})")


# -- coverage summary -------------------------------------------------------------------------


def coverage(model: m.Model) -> list[Coverage]:
    """Coverage per level of the trace, for the summary line and the binder."""
    children = model.children()

    def has_child(item: m.Item, kinds: tuple[m.LinkKind, ...]) -> bool:
        return any(k in kinds and c.status == "active" for k, c in children.get(item.id, []))

    clauses = [c for c in _active(model, "clause") if isinstance(c, m.Clause) and not c.exclusion]
    urs = _active(model, "urs")
    fs = _active(model, "fs")
    high = _high_risks(model)
    tested_high = 0
    for risk in high:
        polarities = {c.polarity for k, c in children.get(risk.id, [])
                      if k is m.LinkKind.VERIFIES and isinstance(c, m.TestCase) and not c.manual}
        tested_high += {"positive", "negative"} <= polarities
    verified_urs = 0
    for u in urs:
        fs_children = [c for k, c in children.get(u.id, []) if k is m.LinkKind.SATISFIES]
        direct = has_child(u, (m.LinkKind.VERIFIES,))
        via_fs = any(has_child(f, (m.LinkKind.VERIFIES,)) or any(
            has_child(d, (m.LinkKind.VERIFIES,)) for k2, d in children.get(f.id, []) if k2 is m.LinkKind.IMPLEMENTS)
            for f in fs_children)
        verified_urs += direct or via_fs
    return [
        Coverage("regulation → URS", sum(has_child(c, (m.LinkKind.TRACES_TO,)) for c in clauses), len(clauses)),
        Coverage("URS → FS", sum(has_child(u, (m.LinkKind.SATISFIES,)) for u in urs), len(urs)),
        Coverage("FS → DS/test", sum(has_child(f, (m.LinkKind.IMPLEMENTS, m.LinkKind.VERIFIES)) for f in fs), len(fs)),
        Coverage("URS → test", verified_urs, len(urs)),
        Coverage("high risks → ± tests", tested_high, len(high)),
    ]
