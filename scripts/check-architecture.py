#!/usr/bin/env python3
"""Check the module table of docs/ARCHITECTURE.md and every import line against Package.swift.

The design document's module table (the table whose last header cell is "may import") has one
row per target: the first cell names the target in backticks, the last cell lists, in backticks,
every module the target may import (first-party targets, C shims, and products of package
dependencies such as `ArgumentParser` and `Yams`), or "—" for none. This script checks that

  * every library, executable and system-library target of Package.swift has a row, and every
    row names a target of Package.swift;
  * each row's "may import" set equals the target's `dependencies:` in Package.swift;
  * every `import X` / `@testable import X` line of every .swift file under a target's folder
    (Sources/<target>/, Tests/<target>/, or the target's `path:`) names a module the target
    depends on. System modules (Foundation, Dispatch, Glibc, Darwin, Musl, XCTest, Testing,
    Synchronization, os, FoundationEssentials, _Concurrency, …) are always allowed. Test targets
    are checked for their imports only (they need no row in the table).

Usage:
    scripts/check-architecture.py                 # the repository this script lives in
    scripts/check-architecture.py --root DIR      # another checkout (or a modified copy)
    scripts/check-architecture.py --unused        # also list declared dependencies nobody imports

Exit status: 0 when everything agrees (it prints
`architecture: N targets, M import lines checked, 0 violations`), 1 when there are violations
(each printed on its own line as `path:line: ...`), 2 when Package.swift or the document cannot
be read or parsed. Python 3.8+, standard library only.
"""

import argparse
import os
import re
import sys

DOC_PATH = os.path.join("docs", "ARCHITECTURE.md")

# Modules of the toolchain and the platform: importing them needs no dependency.
SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "FoundationXML", "Dispatch", "Glibc", "Darwin", "Musl", "Bionic", "Android", "WASILibc", "ucrt",
    "WinSDK", "CRT", "XCTest", "Testing", "Synchronization", "os", "_Concurrency",
    "_StringProcessing", "RegexBuilder", "Observation", "Distributed", "Swift", "SwiftShims",
}

# Module name of a product, where it differs from the product's name: {(package, product): module}.
PRODUCT_MODULES = {
    ("swift-argument-parser", "ArgumentParser"): "ArgumentParser",
    ("Yams", "Yams"): "Yams",
}

TARGET_KINDS = {"target", "executableTarget", "testTarget", "systemLibrary", "binaryTarget", "plugin", "macro"}

IMPORT_RE = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*"                              # @testable, @_exported, @preconcurrency, …
    r"(?:(?:public|package|internal|fileprivate|private)\s+)?"     # Swift 6 access-level imports
    r"import\s+"
    r"(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)")


class ParseError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Swift source scanning

def strip_swift_comments(text):
    """`text` with comments blanked out (newlines kept) and string literals left as they are."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = skip_string(text, i)
            out.append(text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_string(text, i):
    """The index just past the string literal starting at `i` (plain or triple-quoted)."""
    if text.startswith('"""', i):
        j = text.find('"""', i + 3)
        while j > 0 and text[j - 1] == "\\":
            j = text.find('"""', j + 1)
        return len(text) if j < 0 else j + 3
    j = i + 1
    while j < len(text) and text[j] not in '"\n':
        j += 2 if text[j] == "\\" else 1
    return j + 1


def import_lines(path):
    """[(line number, module)] for the import declarations of a Swift file, outside comments and
    multi-line string literals (Python scripts embedded in tests have `import` lines too)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    code = strip_swift_comments(text)
    found, in_string = [], False
    for number, line in enumerate(code.split("\n"), start=1):
        if in_string:
            if line.count('"""') % 2 == 1:
                in_string = False
            continue
        m = IMPORT_RE.match(line)
        if m:
            found.append((number, m.group(1)))
        elif line.count('"""') % 2 == 1:
            in_string = True
    return found


# ---------------------------------------------------------------------------------------------
# Package.swift

def balanced(text, start):
    """The index of the bracket closing the one at `start`, skipping string literals."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack, i = [], start
    while i < len(text):
        c = text[i]
        if c == '"':
            i = skip_string(text, i)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                raise ParseError("unbalanced '%s' at offset %d" % (c, i))
            if not stack:
                return i
        i += 1
    raise ParseError("unclosed bracket at offset %d" % start)


def split_top(text):
    """Splits a comma-separated list at depth 0 (outside brackets and strings)."""
    items, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = skip_string(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail:
        items.append(tail)
    return items


def arguments(call_args):
    """{label: value text} of a call's labelled arguments."""
    result = {}
    for item in split_top(call_args):
        m = re.match(r"([A-Za-z_]\w*)\s*:\s*(.*)\Z", item, re.S)
        if m:
            result[m.group(1)] = m.group(2).strip()
    return result


def call(text):
    """(name, argument text) of `.name(args)` or `Name(args)`, or None."""
    m = re.match(r"\s*\.?([A-Za-z_]\w*)\s*\(", text)
    if not m:
        return None
    open_at = m.end() - 1
    return m.group(1), text[open_at + 1:balanced(text, open_at)]


def string_literal(text):
    m = re.match(r'\s*"((?:[^"\\]|\\.)*)"\s*\Z', text or "", re.S)
    return m.group(1) if m else None


def array_items(text):
    text = (text or "").strip()
    if not text.startswith("["):
        raise ParseError("expected an array, found %r" % text[:40])
    return split_top(text[1:balanced(text, 0)])


class Target:
    def __init__(self, name, kind, deps, path, excluded):
        self.name, self.kind, self.deps, self.path, self.excluded = name, kind, deps, path, excluded

    @property
    def is_test(self):
        return self.kind == "testTarget"


def parse_package(path):
    with open(path, encoding="utf-8") as f:
        text = strip_swift_comments(f.read())
    m = re.search(r"\bPackage\s*\(", text)
    if not m:
        raise ParseError("no Package( … ) call")
    open_at = m.end() - 1
    package = arguments(text[open_at + 1:balanced(text, open_at)])
    if "targets" not in package:
        raise ParseError("Package( … ) has no targets: argument")
    targets = []
    for item in array_items(package["targets"]):
        parsed = call(item)
        if not parsed or parsed[0] not in TARGET_KINDS:
            raise ParseError("cannot read the target %r" % item[:60])
        kind, args = parsed
        fields = arguments(args)
        name = string_literal(fields.get("name"))
        if name is None:
            raise ParseError("a .%s without a literal name" % kind)
        deps = set()
        for dep in array_items(fields["dependencies"]) if "dependencies" in fields else []:
            literal = string_literal(dep)
            if literal is not None:
                deps.add(literal)
                continue
            parsed_dep = call(dep)
            if not parsed_dep:
                raise ParseError("target %s: cannot read the dependency %r" % (name, dep))
            dep_kind, dep_args = parsed_dep
            dep_fields = arguments(dep_args)
            dep_name = string_literal(dep_fields.get("name"))
            if dep_kind == "product":
                package_name = string_literal(dep_fields.get("package")) or dep_name
                deps.add(PRODUCT_MODULES.get((package_name, dep_name), dep_name))
            elif dep_kind in ("target", "byName") and dep_name:
                deps.add(dep_name)
            else:
                raise ParseError("target %s: cannot read the dependency %r" % (name, dep))
        folder = string_literal(fields.get("path")) or os.path.join("Tests" if kind == "testTarget" else "Sources", name)
        excluded = []
        if "exclude" in fields:
            excluded += [string_literal(e) for e in array_items(fields["exclude"])]
        if "resources" in fields:
            for r in array_items(fields["resources"]):
                parsed_r = call(r)
                if parsed_r and parsed_r[0] in ("copy", "process", "embedInCode"):
                    excluded.append(string_literal(split_top(parsed_r[1])[0]))
        excluded = [os.path.normpath(os.path.join(folder, e)) for e in excluded if e]
        targets.append(Target(name, kind, deps, os.path.normpath(folder), excluded))
    return targets


# ---------------------------------------------------------------------------------------------
# The module table of the document

def table_cells(line):
    """The cells of a Markdown table row; a `|` inside backticks does not split."""
    cells, current, in_code = [], [], False
    for c in line.strip().strip("|"):
        if c == "`":
            in_code = not in_code
        if c == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(c)
    cells.append("".join(current).strip())
    return cells


def parse_doc(path):
    """({target: (line number, may-import set)}, [problems]) from the table headed `… | may import`."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    rows, problems, in_table, found_table = {}, [], False, False
    for number, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells = table_cells(line)
        if not in_table:
            in_table = cells[-1].strip().lower() == "may import" and cells[0].strip().lower() == "target"
            found_table = found_table or in_table
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        if not names or re.sub(r"`[^`]+`|,|\band\b|\s", "", cells[0]):
            continue   # not a target row (e.g. a note)
        allowed_cell = cells[-1]
        allowed = set(re.findall(r"`([^`]+)`", allowed_cell))
        rest = re.sub(r"`[^`]+`|,|\band\b|\s|[—–-]", "", allowed_cell)
        if rest:
            problems.append("%s:%d: the may-import cell of %s must list backticked names or —, found %r"
                            % (DOC_PATH, number, ", ".join(names), allowed_cell))
        for name in names:
            if name in rows:
                problems.append("%s:%d: target %s has a second row (first on line %d)" % (DOC_PATH, number, name, rows[name][0]))
            rows[name] = (number, allowed)
    if not found_table:
        problems.append("%s: no module table (a table whose header row starts with `target` and ends with `may import`)" % DOC_PATH)
    return rows, problems


# ---------------------------------------------------------------------------------------------

def fmt(names):
    return "{" + ", ".join(sorted(names)) + "}" if names else "{}"


def owner(rel_path, targets):
    """The target whose folder holds `rel_path` (the deepest one), or None; excluded files too."""
    parts = rel_path.split(os.sep)
    best = None
    for t in targets:
        tp = t.path.split(os.sep)
        if parts[:len(tp)] == tp and (best is None or len(tp) > len(best.path.split(os.sep))):
            best = t
    if best is not None:
        for e in best.excluded:
            ep = e.split(os.sep)
            if parts[:len(ep)] == ep:
                return "excluded"
    return best


def swift_files(root):
    for top in ("Sources", "Tests"):
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".swift"):
                    yield os.path.relpath(os.path.join(folder, name), root)


def check(root, show_unused):
    try:
        targets = parse_package(os.path.join(root, "Package.swift"))
        rows, violations = parse_doc(os.path.join(root, DOC_PATH))
    except (OSError, ParseError) as error:
        print("check-architecture: %s" % error, file=sys.stderr)
        return 2
    by_name = {t.name: t for t in targets}
    first_party = set(by_name)
    products = set().union(*(t.deps for t in targets)) - first_party

    # The table against Package.swift.
    for t in targets:
        if t.is_test and t.name not in rows:
            continue
        if t.name not in rows:
            violations.append("%s: target %s is in Package.swift but not in the module table" % (DOC_PATH, t.name))
        elif rows[t.name][1] != t.deps:
            violations.append("%s: target %s may import %s but Package.swift gives %s"
                              % (DOC_PATH, t.name, fmt(rows[t.name][1]), fmt(t.deps)))
    for name, (number, _) in sorted(rows.items(), key=lambda r: r[1][0]):
        if name not in by_name:
            violations.append("%s:%d: target %s is in the module table but not in Package.swift" % (DOC_PATH, number, name))

    # Import lines against each target's dependencies.
    checked, imported = 0, {t.name: set() for t in targets}
    for rel in swift_files(root):
        t = owner(rel, targets)
        if t == "excluded":
            continue
        if t is None:
            violations.append("%s: belongs to no target of Package.swift" % rel)
            continue
        for number, module in import_lines(os.path.join(root, rel)):
            checked += 1
            imported[t.name].add(module)
            if module in SYSTEM_MODULES or module in t.deps:
                continue
            if module == t.name:
                violations.append("%s:%d: target %s imports itself" % (rel, number, t.name))
            elif module in first_party or module in products:
                violations.append("%s:%d: target %s imports %s, which Package.swift does not give it" % (rel, number, t.name, module))
            else:
                violations.append("%s:%d: target %s imports %s, which is no target, no product of a dependency and no known "
                                  "system module" % (rel, number, t.name, module))

    if show_unused:
        for t in targets:
            unused = t.deps - imported[t.name]
            if unused and t.kind != "systemLibrary":
                print("note: target %s declares %s but no file of it imports them" % (t.name, fmt(unused)))

    for v in violations:
        print(v)
    print("architecture: %d targets, %d import lines checked, %d violation%s"
          % (len(targets), checked, len(violations), "" if len(violations) == 1 else "s"))
    return 1 if violations else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        help="the package root holding Package.swift, Sources/, Tests/ and docs/ (default: this repository)")
    parser.add_argument("--unused", action="store_true", help="also note declared dependencies that no file imports")
    options = parser.parse_args()
    sys.exit(check(os.path.abspath(options.root), options.unused))


if __name__ == "__main__":
    main()
