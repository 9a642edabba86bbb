"""Every chapter notebook is paired with a py:percent twin that agrees with it, and is in the table of contents."""

import json
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_twin_agrees(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"{path.name} has no py:percent twin; run `jupytext --sync {path}`"
    assert "format_name: percent" in twin.read_text()[:500]
    a, b = _cells(jupytext.read(path)), _cells(jupytext.read(twin))
    assert a == b, f"{path.name} and {twin.name} differ; run `jupytext --sync {path}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_in_toc_and_describes_itself(path):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert f"notebooks/{path.stem}" in files
    nb = json.loads(path.read_text())
    code = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum(f'chapters.setup("{path.stem}")' in c for c in code) == 1 and \
        any(f'chapters.setup("{path.stem}")' in c for c in code[:4]), \
        "one preamble, chapters.setup(NAME), in the first cells (it describes the machine and shows the cost)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_from_a_full_run(path):
    nb = json.loads(path.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert outputs, f"{path.name} has no committed outputs"
    first = "".join("".join(o.get("text", "")) for o in outputs[:3])
    assert "profile: full" in first, "committed outputs must come from a full-profile run"
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figures in the committed outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_lists_the_chapter_with_a_colab_badge(path):
    readme = (ROOT / "README.md").read_text()
    colab = f"https://colab.research.google.com/github/dfkd-book/dfkd-book/blob/main/notebooks/{path.name}"
    assert f"(notebooks/{path.name})" in readme and "[![Open In Colab]" in readme and f"({colab})" in readme, \
        f"README's chapter table lacks {path.name} or its Colab badge"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_installs_only_the_package_and_the_chapter_states_its_cost(path):
    nb = json.loads(path.read_text())
    code = [("".join(c["source"]), c["metadata"].get("tags", [])) for c in nb["cells"] if c["cell_type"] == "code"]
    setup, tags = code[0]
    assert "remove-cell" in tags and 'if "google.colab" in sys.modules:' in setup
    installs = [line.strip() for line in setup.splitlines() if line.strip().startswith("%pip")]
    assert installs == ["%pip install -q kornia",
                        '%pip install -q --no-deps "dfkd-book @ git+https://github.com/dfkd-book/dfkd-book"'], \
        "Colab installs the package alone (no [book] extra, --no-deps so PyTorch is never touched) and kornia"
    assert "output.enable_custom_widget_manager()" in setup
    assert not any("chapters.show(" in c or "config.describe()" in c for c, _ in code), \
        "chapters.setup(NAME) is the one preamble: it already describes the machine and prints the cost"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_state_is_stored(path):
    """Stored ipywidgets state makes the site load require.js and the widget manager from a CDN (the page breaks
    offline); `make book` strips it after executing, and the explorers have static figures."""
    assert "widgets" not in json.loads(path.read_text())["metadata"], \
        f"{path.name} stores widget state; run `python -m dfkd_book.chapters --strip-widgets {path}`"


# ------------------------------------------------------------------------------- the chapters teach (issue 45)
CHAPTERS = [p for p in NOTEBOOKS if p.stem[:2].isdigit() and 1 <= int(p.stem[:2]) <= 8]
#: bookkeeping of when and on which machine runs were made belongs to the records and appendix B, not a chapter
BOOKKEEPING = ("GPU seeds", "CPU seeds", "fourteen at a time", "half as fast", "early versions of this book",
               "of its time", "this machine")


def markdown_words(nb) -> int:
    """Words of the markdown cells as a reader's word count sees them: whitespace-separated tokens, maths and
    ``{glue:text}`` roles included."""
    return sum(len("".join(c["source"]).split()) for c in nb["cells"] if c["cell_type"] == "markdown")


def code_lines(nb) -> int:
    """Non-blank lines of every code cell, hidden ones included (the Colab reader sees them all)."""
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code"
               for line in "".join(c["source"]).splitlines() if line.strip())


def test_there_are_eight_chapters():
    assert len(CHAPTERS) == 8, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_a_chapter_is_a_textbook_chapter(path):
    """Learning objectives, key equations, a summary; at most 2,500 words of markdown and 350 lines of code, all
    counted (the exercises' solutions live in Appendix C); no bookkeeping of runs; a link to its appendix page
    (chapters 2-7)."""
    nb = json.loads(path.read_text())
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "In this chapter you will" in md and "Key equations" in md and "## Summary" in md
    assert markdown_words(nb) <= 2500, f"{path.name}: {markdown_words(nb)} words of markdown (at most 2,500)"
    assert code_lines(nb) <= 350, f"{path.name}: {code_lines(nb)} lines of code (at most 350)"
    twin = path.with_suffix(".py").read_text()
    found = [p for p in BOOKKEEPING if p.lower() in twin.lower()]
    assert not found, f"{path.name} tells when or where runs were made: {found} (that belongs to appendix B)"
    n = int(path.stem[:2])
    if n >= 2:
        appendix = next((ROOT / "notebooks").glob(f"B{n}_*.ipynb")).stem
        assert f"{{doc}}`{appendix}`" in md, f"{path.name} does not link to its appendix page {appendix}"
