#!/usr/bin/env python3
"""Lists circles in the `use` graph of the crate's modules, so layers keep pointing one way.

Every file under src/ is a module; a reference to `crate::a::b::C` (in a `use` or inline) or to
`super::…` is an edge to the deepest module it names. Edges are then looked at between siblings:
the children of the crate root (`cache`, `domain`, …) and the children of every module
(`api::handlers`, `api::openapi`, …). A circle among siblings is reported; exits 1 when any is.
"""

import re
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "src")


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    if parts and parts[0] == "bin":
        return None
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
    if start is None:
        return [tree]
    prefix, inner = tree[:start], tree[start + 1 : tree.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    return [p for item in items if item.strip() for p in expand(prefix + item.strip())]


def resolve(module: tuple, path: str, modules: set) -> tuple:
    segs = [s.strip() for s in re.split(r"::", path) if s.strip()]
    segs = [s.split(" as ")[0].strip() for s in segs]
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = module
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        rest = segs
    else:
        return None
    target = base
    for seg in rest:
        if target + (seg,) in modules:
            target = target + (seg,)
        else:
            break
    return target


def main() -> int:
    files = {m: p for p in SRC.rglob("*.rs") if (m := module_of(p)) is not None}
    modules = set(files)
    edges = set()
    for module, path in files.items():
        text = strip_comments(path.read_text())
        paths = []
        for stmt in re.findall(r"\buse\s+([^;]+);", text):
            paths += expand(stmt)
        paths += re.findall(r"\b(?:crate|super)(?:::\w+)+", text)
        for p in paths:
            target = resolve(module, p, modules)
            if target is None or target == module:
                continue
            # The edge between the two modules' children of their deepest common ancestor.
            common = 0
            while common < min(len(module), len(target)) and module[common] == target[common]:
                common += 1
            if common < len(module) and common < len(target):
                edges.add((module[: common + 1], target[: common + 1]))
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    cycles = find_cycles(graph)
    name = "::".join
    for cycle in cycles:
        inside = sorted(f"{name(a)} -> {name(b)}" for a, b in edges if a in cycle and b in cycle)
        print(f"circle among {', '.join(name(m) for m in cycle)}: {'; '.join(inside)}")
    if not cycles:
        print(f"no circles among {len(modules)} modules ({len(edges)} edges between siblings)")
    return 1 if cycles else 0


def find_cycles(graph: dict) -> list:
    """One circle per strongly connected component with more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            strong(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
