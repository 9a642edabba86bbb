"""The "Paper vs this book" table of each chapter, built from the committed records and the method table.

One module per chapter: :mod:`.zskd` (chapter 2), :mod:`.arbitrary` (chapter 3), :mod:`.adversarial` (chapter 4),
:mod:`.inversion` (chapter 5), :mod:`.ssd_kd` (chapter 6). Each reads the method's leaderboard record
(``results/records/``, the 3-seed mean ± sd that chapter 7 ranks: one number per method), the study runs the table
cites, and the paper's numbers from :data:`dfkd_book.recipes.METHODS`, so a chapter shows its table with one call and
the table itself is tested. A chapter's own live run (seed 0) may be passed in and appears labelled as such.
"""

from . import adversarial, arbitrary, inversion, ssd_kd, zskd

__all__ = ["adversarial", "arbitrary", "inversion", "ssd_kd", "zskd"]
