#!/usr/bin/env python3
"""Fails if the node crate's modules import each other in a cycle.

A module is a top-level module of `node/src` (`runtime`, `daemon`, ...) or,
inside a directory module, one of its files (`cli/node.rs`, `cli/status.rs`).
An edge A -> B is a `crate::B` path in A's files (top level) or a
`super::B` path (siblings). Reports each strongly connected component of
more than one module.
"""

import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "node" / "src"


def module_of(path):
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0].removesuffix(".rs")


def edges():
    graph = {}
    for path in SRC.rglob("*.rs"):
        text = path.read_text()
        # Tests inside a file may use anything.
        text = text.split("#[cfg(test)]")[0]
        top = module_of(path)
        graph.setdefault(top, set())
        for used in re.findall(r"crate::(\w+)", text):
            if used != top and (SRC / f"{used}.rs").exists() or (SRC / used).is_dir():
                if used != top:
                    graph[top].add(used)
        # Siblings inside a directory module, e.g. cli/node.rs -> cli/status.rs.
        rel = path.relative_to(SRC)
        if len(rel.parts) == 2 and rel.name != "mod.rs":
            me = f"{rel.parts[0]}/{rel.stem}"
            graph.setdefault(me, set())
            for block in re.findall(r"use super::\{([^;]*)\};|use super::(\w+)", text):
                names = re.findall(r"(?:^|[\s,{])(\w+)::", block[0]) + ([block[1]] if block[1] else [])
                for name in names:
                    if (SRC / rel.parts[0] / f"{name}.rs").exists() and name != rel.stem:
                        graph[me].add(f"{rel.parts[0]}/{name}")
            for name in re.findall(r"super::(\w+)::", text):
                if (SRC / rel.parts[0] / f"{name}.rs").exists() and name != rel.stem:
                    graph[me].add(f"{rel.parts[0]}/{name}")
    return graph


def cycles(graph):
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for next_ in graph.get(node, ()):
            if next_ not in index:
                visit(next_)
                low[node] = min(low[node], low[next_])
            elif next_ in on_stack:
                low[node] = min(low[node], index[next_])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main():
    found = cycles(edges())
    for component in found:
        print("import cycle: " + " <-> ".join(component))
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
