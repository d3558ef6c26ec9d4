"""The command lists of ``--help`` show each command's first sentence whole, in both languages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Click ends a command's short help at the first word ending in a full stop: "e.g." or "z. B." in a first
# sentence cut it there ("Eine Shop-Einstellung ändern, z.").
WALK = """
import json, typer
from retentio.cli import app
def walk(group, prefix=""):
    for name, sub in getattr(group, "commands", {}).items():
        yield prefix + name, sub.get_short_help_str(limit=45)
        yield from walk(sub, prefix + name + " ")
print(json.dumps(dict(walk(typer.main.get_command(app)))))
"""
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "z.", "d.", "u.", "bzw.", "ggf.", "ca.", "vgl.", "B.", "h.", "a.")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_no_short_help_is_cut_at_an_abbreviation(lang):
    env = {**os.environ, "RETENTIO_LANG": lang, "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-c", WALK], capture_output=True, text=True, env=env, check=True).stdout
    helps = json.loads(out)
    assert len(helps) > 40 and "config set" in helps
    cut = {name: text for name, text in helps.items() if text.endswith(ABBREVIATIONS)}
    assert cut == {}
