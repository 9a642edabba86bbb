"""The lab, beside the book: what measures the methods rather than teaches them.

========================  =================================================================================
``bench``                 one method's record from N seeds (``python -m dfkd_book.experiments.bench``)
``leaderboard``           the leaderboard from the records (chapter 7, the README)
``search``                the student-protocol search and the real-data yardstick (Appendix A)
``ablation``              a paper's ablations over seeds (ZSKD's tables, Nayak et al. 2021's Table 1)
``levers``                lever studies: a recipe with one thing changed, over seeds
``costs``                 what each chapter costs to run
``speed``                 the loop's speed against a bare PyTorch loop (``bench speed``)
``students``              what the studies share: a student protocol, the validation split, one student
``runner``                the one runner: resume by run id, a process pool, device, commit, provenance
========================  =================================================================================

Nothing of the book imports the lab except the chapters that read records through :mod:`dfkd_book.records`,
:mod:`dfkd_book.stats` and :mod:`~dfkd_book.experiments.leaderboard`. The runbook (which command makes which file
of ``results/``) is ``RUNBOOK.md`` in the repository.
"""
