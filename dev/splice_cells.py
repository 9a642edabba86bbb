"""Re-execute some cells of a chapter and splice their new outputs into the committed notebook.

    python dev/splice_cells.py NOTEBOOK.ipynb --setup 'MARKER|MARKER' --target 'MARKER|MARKER' [--profile full]

For cells whose outputs are functions of committed records alone (a table read from ``results/``): the cells whose
source contains a ``--setup`` marker run first (imports, loading the record), then the ``--target`` cells, in
notebook order, in one fresh kernel; only the target cells' outputs are replaced. Every other cell keeps the
outputs of the chapter's last full run. Fails (and writes nothing) when a marker matches no cell or a cell raises.
"""

from __future__ import annotations

import argparse
import os
import sys

import nbformat
from nbclient import NotebookClient


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--setup", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--profile", default="full")
    a = ap.parse_args()
    nb = nbformat.read(a.notebook, as_version=4)
    setup, target = a.setup.split("|"), a.target.split("|")
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for m in setup + target:
        if not any(m in c.source for _, c in code):
            sys.exit(f"no code cell contains {m!r}")
    picked = [(i, c, any(m in c.source for m in target)) for i, c in code
              if any(m in c.source for m in setup + target)]
    run = nbformat.v4.new_notebook(metadata=nb.metadata)
    run.cells = [nbformat.v4.new_code_cell(c.source) for _, c, _ in picked]
    os.environ["DFKD_BOOK_PROFILE"] = a.profile
    NotebookClient(run, timeout=-1, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(a.notebook))}}).execute()
    for (i, _, is_target), done in zip(picked, run.cells):
        if is_target:
            nb.cells[i].outputs = done.outputs
    # number the code cells as one run in order would (a new cell has none, and nbval rejects a cell with
    # outputs but no execution count)
    for n, (_, c) in enumerate(code, 1):
        c.execution_count = n
        for o in c.outputs:
            if "execution_count" in o:
                o["execution_count"] = n
    tmp = a.notebook + ".tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, a.notebook)
    print(f"spliced {sum(t for _, _, t in picked)} cell(s) of {a.notebook}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
