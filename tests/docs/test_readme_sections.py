"""Generated README sections must match what the code would generate now."""

from __future__ import annotations

import re
from pathlib import Path

from taskrouter_cli.sandbox.api import fidelity

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_fidelity_table_is_current() -> None:
    assert fidelity.main(["--check", str(README)]) == 0


def test_fidelity_table_covers_every_spec_operation() -> None:
    section = README.read_text().split(fidelity.START)[1].split(fidelity.END)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    operations = list(fidelity.load_spec().operations())
    assert len(rows) - 1 == len(operations)  # minus the header row


def test_readme_setup_commands_are_what_ci_runs() -> None:
    text = README.read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for name in ("main", "tests"):
        block = re.search(rf"<!-- setup:{name} -->\s*```bash\n(.*?)\n```", text, re.DOTALL)
        assert block, f"README lacks the setup:{name} block"
        assert f"readme_command {name}" in ci
