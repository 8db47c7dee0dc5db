#!/usr/bin/env python3
"""check_includes: fails when the project's sources include each other in a circle.

Reads every `#include "..."` line (angle-bracket includes are other people's headers)
of the C sources and headers under common/ proto/ worker/ master/ cli/ and tests/, and
builds a graph of modules. The rule:

  - A module is a source file and its header with the same path stem: common/data.c
    and common/data.h are the one module common/data. A header without a source file
    (common/rng.h) or a source without a header (master/main.c, a test) is a module of
    its own. A module including its own header is no edge.
  - A private header STEM_int.h (master/coord_int.h, common/scenario_int.h: what the
    files of one carved module share) is a module of its own, but the includes between
    it and STEM (coord.c includes coord_int.h, coord_int.h includes coord.h) are no
    edges: it is STEM's private half, neither above nor below it. Its other edges count
    (coord_run.c -> coord_int.h -> coord_ring.h).
  - Module M depends on module N when any file of M includes N's header. An include is
    resolved next to the including file first, then from the repository root (the
    build's -I.); one that resolves to no file of the tree (a system header written in
    quotes) is not an edge.
  - A cycle is two or more modules that depend on each other, directly (data.c includes
    tmpl.h, tmpl.c includes data.h) or in a longer loop. Header-only circles (a.h
    includes b.h includes a.h) are cycles by the same rule, since each header belongs to
    its module. Counting a .c with its .h is what makes "data.c <-> tmpl.c" a circle:
    neither header includes the other, but neither module can be understood (or built
    into a library) without the other.

Each cycle is printed as one loop of modules with the include line behind every step
(file:line), once per strongly connected group of modules. Exit status: 0 no cycle,
1 a cycle (or an unreadable file), 2 usage. `--allow A,B[,C...]` turns the cycle made of
exactly those modules into a warning (printed, not failed): for a circle that is being
removed while this check lands; the Makefile passes none once the tree is clean.
`--root DIR` checks another tree; `--self-test` checks the rule on scratch trees.
"""
import os
import re
import sys
import tempfile

DIRS = ("common", "proto", "worker", "master", "cli", "tests")
SKIP_DIRS = {"node_modules", "corpus", "__pycache__"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def sources(root):
    """Every .c and .h under DIRS, as paths relative to root, sorted."""
    out = []
    for d in DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(x for x in dirnames if x not in SKIP_DIRS and not x.startswith("."))
            for f in filenames:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def module(path):
    return os.path.splitext(path)[0]


def private_pair(m, n):
    """True for STEM and STEM_int, either way round."""
    return m == n + "_int" or n == m + "_int"


def resolve(root, including, name, known):
    """The tree's file an include names, or None (see the rule in the header)."""
    for base in (os.path.dirname(including), ""):
        p = os.path.normpath(os.path.join(base, name))
        if p in known:
            return p
    return None


def graph(root):
    """{module: {module: (file, line, included file)}}: the first include behind each edge."""
    files = sources(root)
    known = set(files)
    g = {module(f): {} for f in files}
    for f in files:
        m = module(f)
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                inc = INCLUDE.match(line)
                if not inc:
                    continue
                target = resolve(root, f, inc.group(1), known)
                if target is None:
                    continue
                n = module(target)
                if n != m and not private_pair(m, n) and n not in g[m]:
                    g[m][n] = (f, i, target)
    return g


def groups(g):
    """Strongly connected groups of two or more modules (Tarjan, iterative), sorted."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        onstack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    advanced = True
                    break
                if w in onstack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def loop_in(g, comp):
    """A shortest loop through the group's first module, as a list of modules that
    starts and ends with it (breadth-first inside the group)."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(g[v]):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [comp[0]]


def describe(g, comp):
    simple = loop_in(g, comp)
    lines = ["  " + " -> ".join(simple)]
    for a, b in zip(simple, simple[1:]):
        f, i, target = g[a][b]
        lines.append("    %s:%d includes %s" % (f, i, target))
    if len(comp) > len(simple) - 1:
        lines.append("    (the group: %s)" % ", ".join(comp))
    return "\n".join(lines)


def check(root, allowed, out=sys.stdout):
    """Prints what it finds; returns the exit status."""
    g = graph(root)
    comps = groups(g)
    failed = warned = 0
    for comp in comps:
        text = describe(g, comp)
        if frozenset(comp) in allowed:
            warned += 1
            print("check_includes: WARNING: include cycle (allowed for now, being removed):\n" + text, file=out)
        else:
            failed += 1
            print("check_includes: include cycle:\n" + text, file=out)
    for a in sorted(allowed, key=sorted):
        if list(sorted(a)) not in comps:
            print("check_includes: note: --allow %s: no such cycle any more; drop it" % ",".join(sorted(a)),
                  file=out)
    print("check_includes: %d modules, %d cycle(s)%s" % (len(g), failed,
                                                       ", %d allowed" % warned if warned else ""), file=out)
    return 1 if failed else 0


def self_test():
    """The rule on scratch trees: each case is (files, allowed, want status, want text)."""
    cases = [
        ("acyclic", {"common/a.h": '#include "common/b.h"\n', "common/a.c": '#include "common/a.h"\n',
                     "common/b.h": "", "common/b.c": '#include "common/b.h"\n#include <stdio.h>\n'},
         (), 0, None),
        ("sources include each other's headers", {
            "common/data.h": "", "common/data.c": '#include "common/data.h"\n#include "common/tmpl.h"\n',
            "common/tmpl.h": "", "common/tmpl.c": '#include "common/tmpl.h"\n#include "common/data.h"\n'},
         (), 1, "common/data -> common/tmpl -> common/data"),
        ("headers in a longer loop, relative include", {
            "master/a.h": '#include "b.h"\n', "master/b.h": '#include "master/c.h"\n',
            "master/c.h": '#include "master/a.h"\n', "master/main.c": '#include "master/a.h"\n'},
         (), 1, "master/a -> master/b -> master/c -> master/a"),
        ("an allowed cycle only warns", {
            "master/coord.h": "", "master/coord.c": '#include "master/live.h"\n',
            "master/live.h": "", "master/live.c": '#include "master/coord.h"\n'},
         ({"master/coord", "master/live"},), 0, "WARNING"),
        ("a private STEM_int.h is STEM's private half", {
            "master/coord.h": "", "master/coord_int.h": '#include "master/coord.h"\n',
            "master/coord.c": '#include "master/coord_int.h"\n',
            "master/coord_run.c": '#include "master/coord_int.h"\n'},
         (), 0, None),
        ("a private header in a loop with another module", {
            "common/sc_int.h": '#include "common/sc_body.h"\n', "common/sc.c": '#include "common/sc_int.h"\n',
            "common/sc_body.h": "", "common/sc_body.c": '#include "common/sc_int.h"\n'},
         (), 1, "common/sc_body -> common/sc_int -> common/sc_body"),
        ("own header and system headers are no edges", {
            "common/x.h": '#include "stdio.h"\n', "common/x.c": '#include "common/x.h"\n'},
         (), 0, None),
    ]
    bad = 0
    for name, files, allowed, want_rc, want_text in cases:
        with tempfile.TemporaryDirectory(prefix="check-includes-") as root:
            for path, text in files.items():
                os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(root, path), "w") as f:
                    f.write(text)

            class Buf:
                text = ""

                def write(self, s):
                    self.text += s
            buf = Buf()
            rc = check(root, {frozenset(a) for a in allowed}, out=buf)
            ok = rc == want_rc and (want_text is None or want_text in buf.text)
            if want_rc == 0 and want_text is None:
                ok = ok and "cycle:" not in buf.text
            if not ok:
                bad += 1
                print("check_includes: self-test '%s' failed: status %d (want %d), output:\n%s"
                      % (name, rc, want_rc, buf.text))
    print("check_includes: self-test: %d of %d cases right" % (len(cases) - bad, len(cases)))
    return 1 if bad else 0


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    allowed = set()
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--self-test":
            return self_test()
        if a == "--root" and args:
            root = args.pop(0)
        elif a == "--allow" and args:
            mods = [m.strip() for m in args.pop(0).split(",") if m.strip()]
            if len(mods) < 2:
                print("check_includes: --allow needs two or more modules", file=sys.stderr)
                return 2
            allowed.add(frozenset(mods))
        else:
            print("usage: check_includes.py [--root DIR] [--allow MOD,MOD[,...]]... | --self-test",
                  file=sys.stderr)
            return 2
    return check(root, allowed)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
