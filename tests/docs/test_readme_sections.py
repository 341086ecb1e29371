"""The README stays short and CI can parse it; generated docs sections match the code."""

from __future__ import annotations

import re
from pathlib import Path

from scripts import sandbox_fidelity

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIDELITY = ROOT / "docs" / "sandbox-fidelity.md"
DOCS = ROOT / "docs"


def test_fidelity_table_is_current() -> None:
    assert sandbox_fidelity.main(["--check", str(FIDELITY)]) == 0


def test_fidelity_table_covers_every_spec_operation() -> None:
    text = FIDELITY.read_text(encoding="utf-8")
    section = text.split(sandbox_fidelity.START)[1].split(sandbox_fidelity.END)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    operations = list(sandbox_fidelity.load_spec().operations())
    assert len(rows) - 1 == len(operations)  # minus the header row


def test_readme_setup_commands_are_what_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for name in ("main", "tests"):
        block = re.search(rf"<!-- setup:{name} -->\s*```bash\n(.*?)\n```", text, re.DOTALL)
        assert block, f"README lacks the setup:{name} block"
        assert f"readme_command {name}" in ci


def test_readme_is_short_enough_to_read_in_five_minutes() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.split()) <= 1_300  # ~250 words a minute; reference material is in docs/
    assert len(text.encode()) <= 10 * 1024


def test_readme_and_docs_link_only_to_docs_that_exist() -> None:
    for page in (README, *DOCS.glob("*.md")):
        for target in re.findall(r"\]\(((?:\.\./|docs/)?[\w./-]+\.md)\)", page.read_text("utf-8")):
            assert (page.parent / target).resolve().is_file(), f"{page.name} links to {target}"


def test_concepts_draws_both_lifecycles_as_diagrams_github_renders() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    assert text.count("```mermaid\nstateDiagram-v2") == 2
