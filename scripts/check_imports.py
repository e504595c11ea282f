#!/usr/bin/env python3
"""The crate's imports go downwards only: no import cycle between files of src/, no two
top-level modules that import each other, and no module importing one above it in LAYERS.

    scripts/check_imports.py [SRC]      (default: src; exits 1 and names the cycles)

A file's imports are the crate paths it names: `crate::a::b`, `super::x` (resolved against the
file's module), and `use child::…` of its own submodules (a re-export in a mod.rs). Each path is resolved to the longest prefix that is a
file of the tree (`crate::train::step::update_d` -> src/train/step.rs); naming a module's
folder (`crate::train::Trainer`) means its mod.rs (or the module file). Test modules
(`#[cfg(test)] mod tests { … }` at a file's end) are left out: tests may reach anywhere.
"""
import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def modules(src: Path):
    """Module path (tuple) -> file, for the library (bin/ apart, as its own crate)."""
    found = {}
    for f in sorted(src.rglob("*.rs")):
        rel = f.relative_to(src)
        if rel.parts[0] == "bin":
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] in ("mod", "lib"):
            parts = parts[:-1]
        found[tuple(parts)] = f
    return found


def without_tests(text: str) -> str:
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)
    return text[: cut.start()] if cut else text


def imports(module: tuple, text: str, known: dict):
    text = re.sub(r"//[^\n]*", "", without_tests(text))
    paths = []
    for root, prefix, group in USE_GROUP.findall(text):
        for item in re.split(r",\s*", group):
            name = item.strip().split(" ")[0].split("::")[0]
            if name and name not in ("self", "*"):
                paths.append((root, prefix + "::" + name))
            elif name == "self":
                paths.append((root, prefix))
    paths += PATH.findall(text)
    # `use child::Item` names a submodule of this one (a `pub use`, a re-export, is not an
    # import of the file's own code: a path through it is followed to the child, below).
    private_uses = re.findall(
        r"(?<!pub )\buse\s+([a-z_][a-z0-9_]*)((?:::[A-Za-z_][A-Za-z0-9_]*)*)", text
    )
    for child, rest in private_uses:
        if module + (child,) in known:
            paths.append(("self", "::" + child + rest))
    out = set()
    for root, rest in paths:
        names = [p for p in rest.split("::") if p]
        if root == "super":
            base = list(module[:-1])
            while names and names[0] == "super":
                base, names = base[:-1], names[1:]
        elif root == "self":
            base = list(module)
        else:
            base = []
        full = base + names
        for n in range(len(full), -1, -1):
            if tuple(full[:n]) in known:
                target = tuple(full[:n])
                # An item a mod.rs re-exports from a child is the child's.
                if n < len(full) and full[n] in REEXPORTS.get(target, {}):
                    target = REEXPORTS[target][full[n]]
                if target != module and target != ():
                    out.add(target)
                break
    return out


def cycles(graph):
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                result.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return result


REEXPORTS = {}

# The top-level modules from the bottom up (lib.rs lists them in this order): a module may
# import only modules before it.
LAYERS = ["files", "device", "precision", "optim", "viz", "losses", "game", "data", "models", "train", "metrics", "budget"]


def reexports(module: tuple, text: str, known: dict):
    """Names a module re-exports from its children: `pub use child::{A, B as C}` -> {A, C}."""
    found = {}
    statements = re.findall(r"\bpub use\s+([a-z_][a-z0-9_]*)::([^;]*);", without_tests(text))
    for child, rest in statements:
        if module + (child,) not in known:
            continue
        rest = rest.strip().strip("{}")
        for item in re.split(r",\s*", rest):
            item = item.strip()
            if not item:
                continue
            name = item.split(" as ")[-1].split("::")[-1].strip("{} ")
            found[name] = module + (child,)
    return found


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    known = modules(src)
    for m, f in known.items():
        REEXPORTS[m] = reexports(m, f.read_text(), known)
    graph = {m: imports(m, f.read_text(), known) for m, f in known.items()}
    name = lambda m: "/".join(m) or "lib"
    problems = []
    for group in cycles(graph):
        problems.append("import cycle: " + " -> ".join(name(m) for m in group))
    tops = {}
    for m, targets in graph.items():
        for t in targets:
            if m and t and m[0] != t[0]:
                tops.setdefault(m[0], set()).add(t[0])
    for a in sorted(tops):
        for b in sorted(tops[a]):
            if a < b and a in tops.get(b, set()):
                problems.append(f"two top-level modules import each other: {a} <-> {b}")
    for a in sorted(tops):
        for b in sorted(tops[a]):
            if a not in LAYERS or b not in LAYERS:
                problems.append(f"{a if a not in LAYERS else b} is not in LAYERS: place it there")
            elif LAYERS.index(b) > LAYERS.index(a):
                problems.append(f"upward import: {a} imports {b}, a module above it")
    edges = sum(len(t) for t in graph.values())
    print(f"{len(known)} files, {edges} imports between them")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("no import cycle, no upward import (" + " < ".join(LAYERS) + ")")


if __name__ == "__main__":
    main()
