"""One number per method everywhere (issue 47): the chapter that teaches a leaderboard method shows its record's
number in its committed outputs, and every "mean ± sd %" the chapters glue is a record's."""

import functools
import json
import re
from pathlib import Path

import pytest

from dfkd_book import recipes, records

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = {int(p.name[:2]): p for p in (ROOT / "notebooks").glob("0*.ipynb")}
PM = re.compile(r"(\d+\.\d+) ± (\d+\.\d+) %")


@functools.cache
def _outputs(path: Path) -> tuple[str, dict[str, str]]:
    """All output text of a notebook, and its glued values by name."""
    nb = json.loads(path.read_text())
    text, glued = [], {}
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            data = o.get("data", {})
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued[name] = data.get("application/papermill.record/text/plain", "")
            text += ["".join(v) if isinstance(v, list) else str(v) for k, v in data.items() if k.startswith("text/")]
            text.append("".join(o.get("text", "")))
    return "\n".join([*text, *glued.values()]), glued


@pytest.mark.parametrize("method", recipes.leaderboard())
def test_the_chapter_of_a_method_shows_its_record(method):
    rec = records.load(method)
    text, _ = _outputs(CHAPTERS[recipes.about(method).chapter])
    shown = f"{rec['student_acc']:.2f}"
    assert shown in text, f"chapter {recipes.about(method).chapter} does not show {method}'s record ({shown} %)"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS), ids=lambda c: CHAPTERS[c].stem)
def test_every_glued_mean_and_sd_is_a_records(chapter):
    _, glued = _outputs(CHAPTERS[chapter])
    found = {m: records.load(m) for m in records.methods()}
    for name, value in glued.items():
        for mean, sd in PM.findall(value):
            digits = len(mean.split(".")[1])
            assert any(f"{r['student_acc']:.{digits}f}" == mean and f"{r['student_acc_sd']:.{digits}f}" == sd
                       for r in found.values() if "student_acc_sd" in r), \
                f"{CHAPTERS[chapter].stem}: glued {name} = {value} is no record's mean ± sd"
