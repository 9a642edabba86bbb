"""A pybtex style for the site's bibliography whose labels read like its citations: "Nayak et al. 2019".

sphinxcontrib-bibtex cites author–year in the text (``bibtex_reference_style: author_year``) but labels the list with
its default style's alphabetic keys ("[FMW+22]"); this style keeps the default formatting (``unsrt``, sorted by
author and year) and labels each entry "Author 2019", "Author & Author 2019" or "Author et al. 2019", with a, b, …
appended where two entries would share a label.
"""

from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as Unsrt
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle


def _last(person) -> str:
    return Text.from_latex(" ".join(person.last_names)).render_as("text")


def _label(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    year = entry.fields.get("year", "n.d.")
    if not people:
        return f"{entry.fields.get('title', entry.key)[:20]} {year}"
    names = [_last(p) for p in people]
    who = names[0] if len(names) == 1 else f"{names[0]} & {names[1]}" if len(names) == 2 else f"{names[0]} et al."
    return f"{who} {year}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [_label(e) for e in sorted_entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYear(Unsrt):
    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYear)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
