"""Module boundaries (docs/architecture.md), checked by parsing every import with ast.

* ``routing`` and ``sandbox`` never import the twilio SDK, click or rich (the sandbox signs its
  callbacks itself; a test checks the signature with the SDK's RequestValidator).
* Nothing outside ``cli`` imports click; rich is imported only by ``output`` and ``cli``, and
  by the callback server's live log.
* ``routing`` is standard library only.
* ``sandbox`` and ``routing`` never import trcli's upper layers (``cli``, ``operations``,
  ``callbacks``, ``quickstart``): they stand on the shared foundations only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "taskrouter_cli"

RICH_ALLOWED = ("output.py", "cli/", "callbacks/log.py")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def modules(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", modules("sandbox") + modules("routing"), ids=relative)
def test_engine_layers_import_no_sdk_or_cli_libraries(path: Path) -> None:
    assert not imports_of(path) & {"twilio", "click", "rich", "pyngrok"}


@pytest.mark.parametrize("path", modules("routing"), ids=relative)
def test_routing_is_standard_library_only(path: Path) -> None:
    third_party = {"aiohttp", "twilio", "click", "rich", "pyngrok", "requests"}
    assert not imports_of(path) & third_party


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_click_and_rich_stay_in_their_layers(path: Path) -> None:
    name = relative(path)
    found = imports_of(path)
    if not name.startswith("cli/"):
        assert "click" not in found, f"{name} imports click"
    if not name.startswith(RICH_ALLOWED):
        assert "rich" not in found, f"{name} imports rich"


UPPER_LAYERS = ("cli", "operations", "callbacks", "quickstart")


def trcli_modules_imported_by(path: Path) -> set[str]:
    """The ``taskrouter_cli`` modules ``path`` imports, as dotted names below the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {
        name.removeprefix("taskrouter_cli.") for name in names if name.startswith("taskrouter_cli.")
    }


@pytest.mark.parametrize("path", modules("sandbox") + modules("routing"), ids=relative)
def test_engine_layers_never_import_trclis_upper_layers(path: Path) -> None:
    upper = {name for name in trcli_modules_imported_by(path) if name.split(".")[0] in UPPER_LAYERS}
    assert upper == set(), f"{relative(path)} imports {sorted(upper)}"


SDK_CALL_IN_CLI = re.compile(r"workspace_api\.\w|taskrouter\.v1\.\w|\.reservations\.list\(")


@pytest.mark.parametrize(
    "path", [p for p in modules("cli") if p.name != "context.py"], ids=relative
)
def test_commands_reach_the_sdk_through_operations(path: Path) -> None:
    """cli/ hands SDK objects to operations/; it makes no SDK call itself."""
    calls = [
        f"{relative(path)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SDK_CALL_IN_CLI.search(line)
    ]
    assert calls == []
