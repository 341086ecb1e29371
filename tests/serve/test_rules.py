"""Rules files: first match wins, TOML and JSON, errors with the file's line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskrouter_cli.callbacks.rules import RulesError, evaluation_context, load_rules

WA_OFFLINE = "WA" + "0" * 32
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RULES_TOML = """\
# Spanish tasks are accepted, spam is rejected, everything else deferred.
[[rules]]
name = "spanish"
when = 'selected_language == "es"'
instruction = "accept"

[[rules]]
when = 'type == "spam" OR worker.level < 1'
instruction = "reject"
activity = "Offline"

[default]
instruction = "defer"
"""


def lookup(name: str) -> str:
    assert name == "Offline"
    return WA_OFFLINE


def context(task: dict[str, object], worker: dict[str, object] | None = None) -> dict[str, object]:
    params = {"TaskSid": "WT" + "a" * 32, "WorkerSid": "WK" + "b" * 32, "TaskPriority": "3"}
    return evaluation_context(task, worker or {"level": 2}, params)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_first_matching_rule_wins_and_default_answers_the_rest(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "rules.toml", RULES_TOML), activity_lookup=lookup)
    reply, name = rules.choose(context({"selected_language": "es", "type": "spam"}))
    assert (reply.instruction, name) == ("accept", "spanish")
    reply, name = rules.choose(context({"selected_language": "en", "type": "spam"}))
    assert (reply.document, name) == (
        {"instruction": "reject", "activity_sid": WA_OFFLINE},
        "rule 2",
    )
    reply, name = rules.choose(context({"selected_language": "en"}))
    assert (reply.instruction, name) == ("defer", None)


def test_worker_and_task_prefixes(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "rules.toml", RULES_TOML), activity_lookup=lookup)
    reply, _ = rules.choose(context({"selected_language": "en"}, {"level": 0}))
    assert reply.instruction == "reject"
    text = '[[rules]]\nwhen = "task.priority >= 3 AND task.sid != null"\ninstruction = "accept"\n'
    rules = load_rules(write(tmp_path, "p.toml", text))
    assert rules.choose(context({}))[0].instruction == "accept"


def test_json_rules_are_the_same_document(tmp_path: Path) -> None:
    document = {
        "rules": [{"when": "selected_language == 'es'", "instruction": "accept"}],
        "default": {"instruction": "reject", "activity_sid": WA_OFFLINE},
    }
    rules = load_rules(write(tmp_path, "rules.json", json.dumps(document, indent=2)))
    assert rules.choose(context({"selected_language": "es"}))[0].instruction == "accept"
    assert rules.choose(context({}))[0].instruction == "reject"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.toml",
            '[[rules]]\nname = "x"\n\nwhen = \'language ==\'\ninstruction = "accept"\n',
            r"bad.toml line 4: rule 1 \('x'\): expected a value .* at column 12",
        ),
        ("syntax.toml", "[[rules]\nwhen = 1\n", r"not valid TOML .*line 1"),
        ("syntax.json", '{"rules": [\n  {"when": }\n]}', r"syntax.json line 2: not valid JSON"),
        (
            "nowhen.toml",
            '[[rules]]\ninstruction = "accept"\n',
            "rule 1 has no 'when' expression",
        ),
        (
            "missing.toml",
            "[[rules]]\nwhen = '1==1'\n\n[[rules]]\nwhen = '1==1'\ninstruction = 'call'\n",
            r"missing.toml line 5: rule 2: the call instruction needs 'from' and 'url'",
        ),
        ("unknown.toml", "[[rules]]\nwhen = '1==1'\ncolour = 'red'\n", "'colour' cannot be used"),
        ("top.toml", "rule = []\n", "unknown top-level key 'rule'"),
        ("empty.toml", "", "no rules"),
        ("default.toml", "[[rules]]\nwhen='1==1'\n[default]\ninstruction='jump'\n", "default:"),
    ],
)
def test_bad_files_name_the_line_and_the_problem(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules(write(tmp_path, name, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="does not exist"):
        load_rules(tmp_path / "nope.toml")


@pytest.mark.parametrize("name", ["rules.toml", "rules.json"])
def test_the_shipped_examples_load(name: str) -> None:
    rules = load_rules(EXAMPLES / name, activity_lookup=lambda value: WA_OFFLINE)
    reply, rule = rules.choose(context({"selected_language": "es"}))
    assert reply.instruction == "accept" and rule
    assert rules.choose(context({"selected_language": "en"}))[0].instruction == "defer"
