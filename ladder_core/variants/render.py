"""A picture of one root's variant tree a person can read: a self-contained HTML page.

Every node shows its text, depth, the transformations asked for, persona,
temperature and generator; subtrees fold open and closed (``<details>``).
All text is HTML-escaped (variant texts are model output). Optionally a PNG
of the tree's shape is drawn with matplotlib.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ladder_core.records import TreeNode

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.2em} .meta{color:#666;font-size:.85em}
code{background:#f4f4f4;padding:1px 4px;border-radius:3px;font-size:.95em;white-space:pre-wrap;word-break:break-all}
details{margin-left:1.2em;border-left:2px solid #ddd;padding-left:.6em}
summary{cursor:pointer;padding:2px 0} .leaf{margin-left:2.2em;padding:2px 0}
.d0{border-color:#333}.d1{border-color:#1f77b4}.d2{border-color:#2ca02c}
.d3{border-color:#ff7f0e}.d4{border-color:#d62728}
.depth{display:inline-block;min-width:2.6em;font-size:.8em;color:#fff;background:#888;border-radius:3px;
text-align:center;margin-right:.4em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:.9em}
"""
_DEPTH_COLOURS = ("#333", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd")


def _label(node: TreeNode) -> str:
    e = html.escape
    colour = _DEPTH_COLOURS[min(node.depth, len(_DEPTH_COLOURS) - 1)]
    parts = [f'<span class="depth" style="background:{colour}">d{node.depth}</span>',
             f"<code>{e(node.text)}</code>", f' <span class="meta">{e(node.id)}']
    if node.transformations:
        parts.append(" &middot; " + e("; ".join(node.transformations)))
    if node.persona:
        parts.append(f" &middot; persona: {e(node.persona)}")
    if node.temperature is not None:
        parts.append(f" &middot; T={node.temperature:g}")
    if node.generator:
        parts.append(f" &middot; {e(node.generator)}" + (f" ({e(node.model)})" if node.model else ""))
    parts.append("</span>")
    return "".join(parts)


def render_tree_html(nodes: Sequence[TreeNode], root_id: str, path: str | Path | None = None, *,
                     max_nodes: int = 5000, title: str | None = None) -> str:
    """The HTML page of the tree of ``root_id`` (written to ``path`` if given).

    At most ``max_nodes`` nodes are drawn (breadth first); the page says how
    many were left out.
    """
    tree = [n for n in nodes if n.root_id == root_id]
    root = next((n for n in tree if n.depth == 0), None)
    if root is None:
        raise ValueError(f"no root node {root_id!r} among {len(nodes)} nodes")
    children: dict[str, list[TreeNode]] = {}
    for node in tree:
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node)
    for kids in children.values():
        kids.sort(key=lambda n: n.seq)
    shown = _breadth_first(root, children, max_nodes)
    lines: list[str] = []

    def emit(node: TreeNode) -> None:
        kids = [k for k in children.get(node.id, []) if k.id in shown]
        if not kids:
            lines.append(f'<div class="leaf">{_label(node)}</div>')
            return
        lines.append(f'<details open class="d{min(node.depth, 4)}"><summary>{_label(node)} '
                     f'<span class="meta">({len(kids)} children)</span></summary>')
        for kid in kids:
            emit(kid)
        lines.append("</details>")

    emit(root)
    depth = Counter(n.depth for n in tree)
    gens = Counter(n.generator for n in tree if n.depth > 0)
    rows = "".join(f"<tr><td>{d}</td><td>{c}</td></tr>" for d, c in sorted(depth.items()))
    gen_rows = "".join(f"<tr><td>{html.escape(g or '?')}</td><td>{c}</td></tr>" for g, c in gens.most_common())
    omitted = len(tree) - len(shown)
    heading = html.escape(title or f"Variant tree of {root_id}")
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{heading}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{heading}</h1>\n<p class=\"meta\">{len(tree) - 1} variants, depth up to {max(depth)}"
        + (f"; {omitted} nodes not drawn" if omitted else "") + "</p>\n"
        f"<table><tr><th>depth</th><th>nodes</th></tr>{rows}</table>\n"
        + (f"<table><tr><th>generator</th><th>variants</th></tr>{gen_rows}</table>\n" if gen_rows else "")
        + "\n".join(lines) + "\n</body></html>\n"
    )
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(page, encoding="utf-8")
    return page


def _breadth_first(root: TreeNode, children: dict[str, list[TreeNode]], limit: int) -> set[str]:
    shown: set[str] = set()
    queue = [root]
    while queue and len(shown) < limit:
        node = queue.pop(0)
        shown.add(node.id)
        queue.extend(children.get(node.id, []))
    return shown


def render_tree_png(nodes: Sequence[TreeNode], root_id: str, path: str | Path, *, max_nodes: int = 2000) -> Path:
    """A PNG of the tree's shape (depth downwards, leaves spread across), coloured by depth."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    tree = [n for n in nodes if n.root_id == root_id]
    root = next((n for n in tree if n.depth == 0), None)
    if root is None:
        raise ValueError(f"no root node {root_id!r}")
    children: dict[str, list[TreeNode]] = {}
    for node in tree:
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node)
    shown = _breadth_first(root, children, max_nodes)
    x: dict[str, float] = {}
    next_leaf = [0.0]

    def place(node: TreeNode) -> float:
        kids = [k for k in children.get(node.id, []) if k.id in shown]
        if not kids:
            x[node.id] = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            xs = [place(k) for k in kids]
            x[node.id] = sum(xs) / len(xs)
        return x[node.id]

    place(root)
    by_id = {n.id: n for n in tree if n.id in shown}
    width = min(40.0, max(6.0, next_leaf[0] * 0.12))
    fig, ax = plt.subplots(figsize=(width, 4.5))
    for node in by_id.values():
        if node.parent_id in by_id:
            ax.plot([x[node.parent_id], x[node.id]], [-node.depth + 1, -node.depth], color="#bbb", lw=0.6, zorder=1)
    for node in by_id.values():
        colour = _DEPTH_COLOURS[min(node.depth, len(_DEPTH_COLOURS) - 1)]
        ax.scatter([x[node.id]], [-node.depth], s=30 if node.depth else 80, color=colour, zorder=2)
    ax.annotate(root.text[:80], (x[root.id], 0), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    ax.set_yticks([-d for d in range(max(n.depth for n in by_id.values()) + 1)])
    ax.set_yticklabels([f"depth {d}" for d in range(max(n.depth for n in by_id.values()) + 1)])
    ax.set_xticks([])
    ax.set_title(f"{root_id}: {len(tree) - 1} variants")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
