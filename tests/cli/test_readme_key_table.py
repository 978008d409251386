"""The README's key table is `deepvis keys --markdown`, as keymap.py promises: a change to either
(a key, a help text, a registered method in the `N` line) fails here until the README is regenerated."""

from __future__ import annotations

from pathlib import Path

from deepvis_app.cli.main import main

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_key_table() -> str:
    """The table rows of the README's `## Keys` section, as one string."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Keys\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else len(text)]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_readme_key_table_is_the_cli_output(capsys):
    assert main(["keys", "--markdown"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("| keys | action |")
    table = readme_key_table()
    assert table.count("\n") >= 30  # the whole table, not a stray row
    assert table == printed, "README.md's key table differs: paste `deepvis keys --markdown` into its Keys section"
