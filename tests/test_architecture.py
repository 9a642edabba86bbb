"""The package's architecture, read from its source: the book below, the lab (``dfkd_book.experiments``) beside it.

- the import graph computed from the AST: no cycle, at most :data:`MAX_LEVELS` levels (a module's level is one
  above the highest module it imports), nothing outside the lab imports the lab, and ``plot`` stands below it;
- no module over :data:`MAX_LINES` lines, no block of six or more lines repeated inside ``dfkd_book/``;
- no module imports or reads another module's private names (the lab included);
- the chapters import nothing from the lab but ``records``, ``stats`` and the leaderboard's public functions;
- a published paper number is written in the method table (``dfkd_book.papers.METHODS``) and nowhere else.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

import dfkd_book
from dfkd_book import recipes

REPO = Path(dfkd_book.__file__).resolve().parent.parent
MAX_LEVELS = 8
MAX_LINES = 450
LAB = "dfkd_book.experiments"
#: what a chapter may import from the lab
CHAPTER_LAB = {"dfkd_book.experiments.leaderboard"}


def _modules(repo: Path = REPO) -> list[Path]:
    return sorted(p for p in (repo / "dfkd_book").rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path, repo: Path = REPO) -> str:
    parts = list(path.relative_to(repo).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str, repo: Path = REPO) -> bool:
    base = repo.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(path: Path, repo: Path = REPO):
    """Every import of ``path`` as ``(line, target module, imported names, binds)``: ``target`` is absolute
    (relative imports resolved); ``binds`` maps the local names to what they are (dotted)."""
    mod = _module_name(path, repo)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            binds = {a.asname or a.name: f"{target}.{a.name}" for a in node.names}
            yield node.lineno, target, names, binds
        elif isinstance(node, ast.Import):
            for a in node.names:
                binds = {a.asname: a.name} if a.asname else {a.name.split(".")[0]: a.name.split(".")[0]}
                yield node.lineno, a.name, [], binds


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def lab_imports(repo: Path = REPO) -> list[str]:
    """Where a module of ``repo/dfkd_book`` outside ``experiments/`` imports the lab (in any form)."""
    bad = []
    for path in _modules(repo):
        if _module_name(path, repo).startswith(LAB):
            continue
        for line, target, names, _ in _imports(path, repo):
            pulled = [target] + [f"{target}.{n}" for n in names]
            if any(p == LAB or p.startswith(LAB + ".") for p in pulled):
                bad.append(f"{path.relative_to(repo)}:{line} imports {target} {names}")
    return bad


def private_uses(repo: Path = REPO) -> list[str]:
    """Where a module of ``repo/dfkd_book`` imports another module's private name (``from .x import _y``) or reads
    a private attribute of another dfkd_book module it imported (``x._y``)."""
    bad = []
    for path in _modules(repo):
        me = _module_name(path, repo)
        aliases: dict[str, str] = {}
        for line, target, names, binds in _imports(path, repo):
            if not target.startswith("dfkd_book"):
                continue
            for n in names:
                if _private(n):
                    bad.append(f"{path.relative_to(repo)}:{line} imports the private {target}.{n}")
            for local, what in binds.items():
                if what.startswith("dfkd_book") and _is_module(what, repo):
                    aliases[local] = what
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            owner = _dotted(node.value)
            if owner is None:
                continue
            head, _, rest = owner.partition(".")
            if head not in aliases:
                continue
            resolved = aliases[head] + (f".{rest}" if rest else "")
            if _is_module(resolved, repo) and resolved != me:
                bad.append(f"{path.relative_to(repo)}:{node.lineno} reads {resolved}.{node.attr}")
    return bad


def import_graph(repo: Path = REPO) -> dict[str, set[str]]:
    """Module → the package's modules it imports (a package's ``__init__`` counts as a module; importing a
    submodule does not count as importing its parent package)."""
    mods = {_module_name(p, repo): p for p in _modules(repo)}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for _, target, names, _ in _imports(path, repo):
            for n in names:
                if f"{target}.{n}" in mods:
                    deps.add(f"{target}.{n}")
                elif target in mods:
                    deps.add(target)
            if not names and target in mods:
                deps.add(target)
        deps.discard(name)
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    return graph


def levels(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's level: 1 for a module that imports none of the package, else one above its highest import.
    Raises ValueError naming the cycle when there is one."""
    out: dict[str, int] = {}

    def visit(m: str, path: tuple[str, ...]) -> int:
        if m in path:
            raise ValueError("import cycle: " + " → ".join(path[path.index(m):] + (m,)))
        if m not in out:
            out[m] = 1 + max((visit(d, path + (m,)) for d in graph[m]), default=0)
        return out[m]

    for m in graph:
        visit(m, ())
    return out


def test_the_import_graph_is_shallow_and_has_no_cycle():
    lv = levels(import_graph())
    deep = {m: n for m, n in lv.items() if n > MAX_LEVELS}
    assert not deep, f"modules above level {MAX_LEVELS}: {deep}"


def test_nothing_below_the_lab_imports_it_and_plot_stands_below_it():
    graph = import_graph()
    bad = [f"{m} imports {sorted(d for d in deps if d.startswith(LAB))}" for m, deps in graph.items()
           if not m.startswith(LAB) and any(d.startswith(LAB) for d in deps)]
    assert not bad, "the book must not import the lab:\n" + "\n".join(bad)
    lv = levels(graph)

    def reaches(m: str, target: str) -> bool:
        return target in graph[m] or any(reaches(d, target) for d in graph[m])

    plot = max(n for m, n in lv.items() if m.startswith("dfkd_book.plot"))
    studies = {m: n for m, n in lv.items() if m.startswith(LAB + ".") and reaches(m, "dfkd_book.recipes")}
    assert studies and plot < min(studies.values()), \
        f"plot (level {plot}) must stand below the lab's studies {studies}"


def test_the_level_scan_catches_a_cycle_and_counts_levels():
    assert levels({"a": set(), "b": {"a"}, "c": {"b", "a"}}) == {"a": 1, "b": 2, "c": 3}
    try:
        levels({"a": {"b"}, "b": {"a"}})
    except ValueError as e:
        assert "a → b → a" in str(e) or "b → a → b" in str(e)
    else:
        raise AssertionError("a cycle went unnoticed")


def test_no_module_is_over_the_line_limit():
    long = {str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """A file's lines that carry code, white space folded: blank lines, comments and lone punctuation left out."""
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        s = " ".join(line.split())
        if s and not s.startswith("#") and not re.fullmatch(r"[\[\](){},:;]+", s):
            out.append((i, s))
    return out


def repeated_blocks(paths: list[Path], n: int = 6) -> list[str]:
    """Places where ``n`` consecutive code lines stand again, identically, elsewhere in ``paths`` (or the same
    file)."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for p in paths:
        lines = _code_lines(p)
        for k in range(len(lines) - n + 1):
            window = tuple(s for _, s in lines[k:k + n])
            if any(s.startswith(("from ", "import ")) for s in window):
                continue
            seen[window].append(f"{p.relative_to(p.parents[1]) if len(p.parents) > 1 else p}:{lines[k][0]}")
    return [" ~ ".join(places) for places in seen.values() if len(places) > 1]


def test_no_block_of_six_lines_is_repeated_in_the_package():
    dup = repeated_blocks(_modules())
    assert not dup, "the same six lines stand twice (one function should serve both):\n" + "\n".join(dup)


def test_the_repeat_scan_finds_a_repeat(tmp_path):
    body = "".join(f"    x{i} = f({i})\n" for i in range(6))
    (tmp_path / "a.py").write_text("def g():\n" + body)
    (tmp_path / "b.py").write_text("def h():\n    pass\n" + body.replace("    ", "        "))
    (tmp_path / "c.py").write_text("def k():\n" + body.replace("x5", "y5"))
    hits = repeated_blocks([tmp_path / n for n in ("a.py", "b.py", "c.py")])
    assert len(hits) == 1 and "a.py" in hits[0] and "b.py" in hits[0] and "c.py" not in hits[0]


def test_no_module_outside_the_lab_imports_it():
    bad = lab_imports()
    assert not bad, "the lab stands beside the book; nothing of the book imports it:\n" + "\n".join(bad)


def test_no_module_imports_or_reads_another_modules_private_names():
    bad = private_uses()
    assert not bad, "private names stay in their module:\n" + "\n".join(bad)


def test_the_scans_catch_what_they_look_for(tmp_path):
    """The two scans above, on a made-up package that breaks every rule once (and keeps it once)."""
    pkg = tmp_path / "dfkd_book"
    (pkg / "methods").mkdir(parents=True)
    (pkg / "experiments").mkdir()
    files = {
        "__init__.py": "",
        "experiments/__init__.py": "",
        "experiments/bench.py": "from ..hooks import _first_layer\nfrom . import runner\n",
        "experiments/runner.py": "",
        "hooks.py": "def _first_layer(m):\n    return m\n\ndef f(m):\n    return _first_layer(m)\n",
        "a.py": "from .experiments import bench\n",
        "b.py": "from .experiments.bench import run\n",
        "c.py": "import dfkd_book.experiments.bench\n",
        "d.py": "from dfkd_book import experiments as b\n",
        "e.py": "from .hooks import _first_layer\n",
        "f.py": "from . import hooks\nx = hooks._first_layer\ny = hooks.f\n",
        "g.py": "import dfkd_book.hooks\nx = dfkd_book.hooks._first_layer\n",
        "ok.py": "from . import hooks\nfrom .hooks import f\n_mine = 1\nx = hooks.f\nclass A:\n    _p = 1\n"
                 "a = A()\ny = a._p\n",
        "methods/__init__.py": "",
        "methods/m.py": "from ..experiments import bench\nfrom ..hooks import _first_layer\nfrom .. import hooks as h\n"
                        "z = h._first_layer\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    lab = {s.split(":")[0] for s in lab_imports(tmp_path)}
    assert lab == {f"dfkd_book/{n}" for n in ("a.py", "b.py", "c.py", "d.py", "methods/m.py")}
    private = [s.split(" ")[0] for s in private_uses(tmp_path)]
    assert sorted(private) == sorted(["dfkd_book/experiments/bench.py:1", "dfkd_book/e.py:1", "dfkd_book/f.py:2",
                                      "dfkd_book/g.py:2", "dfkd_book/methods/m.py:2", "dfkd_book/methods/m.py:4"])


def test_every_relative_import_resolves():
    """A moved module leaves no import pointing at its old place (e.g. ``from . import data`` inside methods/)."""
    bad = []
    for path in _modules():
        for line, target, names, _ in _imports(path):
            if not target.startswith("dfkd_book"):
                continue
            if not _is_module(target):
                bad.append(f"{path.relative_to(REPO)}:{line}: no module {target}")
                continue
            module = importlib.import_module(target)
            for n in names:
                if n != "*" and not (_is_module(f"{target}.{n}") or hasattr(module, n)):
                    bad.append(f"{path.relative_to(REPO)}:{line}: {target} has no {n}")
    assert not bad, "\n".join(bad)


def _chapter_imports() -> list[tuple[str, int, str, list[str]]]:
    out = []
    for p in sorted((REPO / "notebooks").glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.append((p.name, node.lineno, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                out += [(p.name, node.lineno, a.name, []) for a in node.names]
    return out


def test_chapters_import_from_the_lab_only_records_stats_and_the_leaderboard():
    bad = []
    for name, line, module, names in _chapter_imports():
        pulled = [module] + [f"{module}.{n}" for n in names]
        lab = [p for p in pulled if p.startswith(LAB + ".") or (p == LAB and not names)]
        if any(p not in CHAPTER_LAB for p in lab) or any(n.startswith("_") for n in names):
            bad.append(f"{name}:{line}: {module} {names}")
        for old in ("dfkd_book.bench", "dfkd_book.protocol", "dfkd_book.ablation", "dfkd_book.leaderboard"):
            if old in pulled:
                bad.append(f"{name}:{line}: {old} is no module of the book")
    assert not bad, "a chapter reads the lab only through records, stats and the leaderboard:\n" + "\n".join(bad)
    for p in sorted((REPO / "notebooks").glob("*.py")):
        privates = re.findall(r"\bleaderboard\._\w+", p.read_text())
        assert not privates, f"{p.name} reads the leaderboard's private names {privates}"


def published_numbers() -> dict[str, str]:
    """Every published accuracy or time of the method table as the text it would be typed as → where it is from."""
    out = {}
    for m, about in recipes.METHODS.items():
        for pub in about.published:
            if pub.unit in ("%", "h"):
                out[f"{pub.value:.2f}"] = f"{m}: {pub.key} ({pub.source}, {pub.table})"
                if pub.value >= 10:  # "98.3"; not "4.2", which figure sizes type too
                    out[f"{pub.value:g}"] = out[f"{pub.value:.2f}"]
    return {k: v for k, v in out.items() if "." in k}


def typed_published(paths: list[Path]) -> list[str]:
    numbers = published_numbers()
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in numbers) + r")(?![\d])")
    hits = []
    for p in paths:
        for i, line in enumerate(p.read_text().splitlines(), 1):
            for m in pattern.finditer(line):
                hits.append(f"{p.relative_to(REPO)}:{i}: {m.group(1)} ({numbers[m.group(1)]})")
    return hits


def test_a_published_number_is_written_only_in_the_method_table():
    paths = [p for p in _modules() if p.name != "papers.py" or p.parent.name != "dfkd_book"]
    paths += sorted((REPO / "notebooks").glob("*.py")) + sorted((REPO / "tests").glob("*.py"))
    paths += [REPO / "intro.md"]
    hits = typed_published([p for p in paths if p != Path(__file__).resolve()])
    assert not hits, ("published numbers are read from dfkd_book.papers.METHODS (recipes.published), never "
                      "typed:\n" + "\n".join(hits))


def test_the_published_scan_finds_a_typed_number(tmp_path):
    some = next(iter(published_numbers()))
    f = REPO / "notebooks" / ".scan-probe.py"
    try:
        f.write_text(f"x = {some}  # typed\ny = 1{some}\n")
        hits = typed_published([f])
        assert len(hits) == 1 and ":1:" in hits[0]
    finally:
        f.unlink(missing_ok=True)


