"""`valgen trace ID`: an item's chain up to regulation clauses and down to test cases."""

from __future__ import annotations

import difflib

from generator import model as m
from generator.errors import ValgenError


def format_trace(model: m.Model, item_id: str) -> str:
    item = model.items.get(item_id)
    if item is None:
        close = difflib.get_close_matches(item_id, list(model.items), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "run 'valgen check' to list the items"
        raise ValgenError(f"no item with ID '{item_id}'", fix=hint)
    children = model.children()
    lines = [f"{item.id}  {item.title}", f"  {item.source}", f"  fingerprint {m.fingerprint(item)}", "", "up:"]

    def up(node: m.Item, depth: int, seen: frozenset[str]) -> None:
        for link in node.links:
            if link.kind is m.LinkKind.RELATED:
                continue
            target = model.items.get(link.target)
            label = target.title if target is not None else "(not defined)"
            lines.append(f"{'  ' * depth}{link.kind.value} {link.target}  {label}")
            if target is not None and target.id not in seen:
                up(target, depth + 1, seen | {target.id})

    def down(node: m.Item, depth: int, seen: frozenset[str]) -> None:
        for kind, child in sorted(children.get(node.id, []), key=lambda kc: kc[1].id):
            lines.append(f"{'  ' * depth}{child.id}  {child.title}  ({kind.value})")
            if child.id not in seen:
                down(child, depth + 1, seen | {child.id})

    up(item, 1, frozenset({item.id}))
    if len(lines) == 5:
        lines.append("  (none)")
    lines.append("down:")
    before = len(lines)
    down(item, 1, frozenset({item.id}))
    if len(lines) == before:
        lines.append("  (none)")
    return "\n".join(lines) + "\n"
