"""environment.yml (conda / Binder) must install the same thing as pyproject.toml."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["book"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    editable = [p for p in pip if p.startswith("-e")]
    assert editable and re.search(r"-e\s+\.\[.*book.*\]", editable[0]), "environment.yml must pip install -e .[book]"
    listed = dict(_norm(p) for p in pip if not p.startswith("-e"))
    assert listed == wanted, (
        "environment.yml drifted from pyproject.toml: "
        f"only in environment.yml {set(listed.items()) - set(wanted.items())}, "
        f"only in pyproject.toml {set(wanted.items()) - set(listed.items())}"
    )
