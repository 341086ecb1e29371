"""Help text and the generated command reference (docs/cli-reference.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from scripts.cli_reference import END, START, main, render, walk
from scripts.doc_sections import replace_section
from taskrouter_cli.cli import cli

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md"
GROUPS = ("task", "reservation", "workflow", "worker", "activity", "queue", "workspace", "events")


def test_every_command_has_an_example() -> None:
    checked = [
        (path, command.get_help(context)) for path, command, context in walk(cli, ("trcli",))
    ]
    assert len(checked) > 60
    assert [" ".join(path) for path, text in checked if "Example" not in text] == []


def test_every_resource_group_is_registered() -> None:
    names = {path[1] for path, _, _ in walk(cli, ("trcli",)) if len(path) > 1}
    assert set(GROUPS) <= names


def test_importing_the_commands_loads_no_heavy_module() -> None:
    modules = ", ".join(f"taskrouter_cli.cli.{name}" for name in GROUPS)
    code = (
        f"import sys, taskrouter_cli.cli, {modules}; "
        "print(sorted(m for m in ('twilio', 'rich', 'aiohttp', 'pyngrok') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_reference_renders_every_command() -> None:
    text = render()
    assert text.index("### `trcli`") < text.index("#### `trcli task`")
    assert text.index("#### `trcli task`") < text.index("##### `trcli task create`")
    assert text.count("```text") == len(list(walk(cli, ("trcli",))))


def test_replace_section_and_check(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"intro\n{START}\nSTALE-TEXT\n{END}\noutro\n", encoding="utf-8")
    assert main(["--check", str(path)]) == 1
    assert main(["--write", str(path)]) == 0
    assert main(["--check", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert (
        text.startswith("intro\n") and text.endswith(f"{END}\noutro\n") and "STALE-TEXT" not in text
    )
    with pytest.raises(ValueError):
        replace_section("no markers", "x", START, END)


def test_docs_reference_is_current() -> None:
    assert main(["--check", str(REFERENCE)]) == 0, (
        "docs/cli-reference.md is stale: run "
        "python -m scripts.cli_reference --write docs/cli-reference.md"
    )


def test_click_group_help_lists_examples() -> None:
    ctx = click.Context(cli, info_name="trcli")
    group = cli.get_command(ctx, "task")
    assert group is not None and "Examples:" in group.get_help(ctx)
