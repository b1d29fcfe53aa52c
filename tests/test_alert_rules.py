"""Rules files: valid ones load; each kind of mistake is named with its line and field."""

from __future__ import annotations

import pytest

from reachwatch.alerts.rules import RuleError, dedup_key, level_of, matches, parse
from reachwatch.store.database import Store
from tests.alert_fixtures import RULES

GOOD = RULES.format(url="https://ops.example/hook")


def problems(text: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        parse(text, "rules.yaml")
    return caught.value.problems


def test_a_good_file_loads() -> None:
    found = parse(GOOD)
    (rule,) = found.rules
    assert rule.id == "threat-naming-protected"
    assert found.channels["ops"].max_attempts == 3
    assert rule.dedup == ["post"]


def test_wrong_type_names_line_and_field() -> None:
    text = GOOD.replace("severity: high", "severity: urgent")
    (problem,) = problems(text)
    line = text.splitlines().index("    severity: urgent") + 1
    assert problem.startswith(f"rules.yaml, line {line}, rules[0].severity:")
    assert "low" in problem
    assert "critical" in problem


def test_unknown_feature_and_channel_are_named() -> None:
    text = GOOD.replace("watched_author: true", "watched_autor: true").replace(
        "notify: [ops]", "notify: [pager]"
    )
    found = problems(text)
    lines = text.splitlines()
    assert any(
        p.startswith(
            f"rules.yaml, line {lines.index('      watched_autor: true') + 1}, rules[0].when.watched_autor"
        )
        and "unknown feature" in p
        for p in found
    )
    assert any("rules[0].notify[0]" in p and "'pager'" in p for p in found)


def test_broken_yaml_names_its_line() -> None:
    (problem,) = problems("rules:\n  - id: x\n    title: [unclosed\n")
    assert "line 4" in problem or "line 3" in problem
    assert "not valid YAML" in problem


def test_other_mistakes() -> None:
    text = GOOD.replace("severity: critical", "severity: medium")  # an escalation that lowers
    assert any("must raise the severity" in p for p in problems(text))
    twice = GOOD + GOOD.split("rules:\n", 1)[1]
    assert any("used by an earlier rule" in p for p in problems(twice))
    assert any(
        "is not a time" in p
        for p in problems(
            GOOD.replace("    notify: [ops]", '    quiet: [{from: "25:00", to: "07:00"}]\n    notify: [ops]')
        )
    )
    assert any(
        "unknown time zone" in p
        for p in problems(
            GOOD.replace(
                "    notify: [ops]",
                '    quiet: [{from: "22:00", to: "07:00", timezone: Mars/Olympus}]\n    notify: [ops]',
            )
        )
    )
    assert any(
        "threat is a number" in p for p in problems(GOOD.replace("watched_author: true", "threat: high"))
    )
    assert any(
        "unknown field" in p.lower() or "object contains unknown field" in p.lower()
        for p in problems(GOOD.replace("severity: high", "severity: high\n    colour: red"))
    )
    assert any("webhook needs" in p for p in problems(GOOD.replace("https://ops.example/hook", "ftp://x")))


def test_hostile_text_in_a_rules_file_is_only_data() -> None:
    found = parse(
        GOOD.replace("title: Threat naming a protected person", 'title: "<script>alert(1)</script>"')
    )
    assert found.rules[0].title == "<script>alert(1)</script>"
    with pytest.raises(RuleError):
        parse("!!python/object/apply:os.system ['echo pwned']")  # safe_load refuses object tags


def test_matching() -> None:
    rule = parse(GOOD).rules[0]
    base = {
        "watched_author": True,
        "protected_person_named": True,
        "harm_flag": ["threat"],
        "engagements": 10,
        "post_id": "p1",
        "author": "a",
        "person": ["dana"],
        "created_at_us": 0,
    }
    assert matches(rule.when, base)
    assert not matches(rule.when, base | {"harm_flag": ["offensive"]})
    assert not matches(rule.when, base | {"watched_author": False})
    assert not matches(rule.when, {k: v for k, v in base.items() if k != "harm_flag"})  # unknown: no match
    assert level_of(rule, base) == (0, "high")
    assert level_of(rule, base | {"engagements": 50}) == (1, "critical")
    assert dedup_key(rule, base) == "threat-naming-protected|p1"
    ranged = parse(GOOD.replace("harm_flag: {any_of: [threat]}", "threat: {above: 0.5, at_most: 0.9}")).rules[
        0
    ]
    assert matches(ranged.when, base | {"threat": 0.6})
    assert not matches(ranged.when, base | {"threat": 0.5})
    assert not matches(ranged.when, base | {"threat": 0.95})


def test_references_are_checked_and_every_problem_reported(store: Store) -> None:
    """Rules that could never fire are refused, each problem with its line, all at once."""
    from reachwatch.alerts.rules import RuleError
    from reachwatch.model import Person
    from reachwatch.service import alerts

    store.write_records([Person(id="dana-whitfield", name="Dana Whitfield")])
    text = """
rules:
  - id: one
    title: A
    severity: high
    when:
      harm_flag: {any_of: [threats]}
      person: {any_of: [Dana Whitfield]}
      platform: blusky
  - id: two
    title: B
    severity: urgent
    when: {threat: 0.5}
  - id: three
    title: C
    severity: low
    when:
      narrative: {any_of: [no-such-story]}
      offensive: {at_least: .nan}
channels:
  mail:
    {type: email, host: smtp.example, sender: a@example, to: [b@example],
     password_env: REACHWATCH_PRIVACY__SECRET_KEY}
"""
    with pytest.raises(RuleError) as caught:
        alerts.check_rules(store, text)
    joined = "\n".join(caught.value.problems)
    assert "rules[1].severity" in joined  # a schema problem in one rule …
    assert "urgent" in joined  # … hides none of the others
    assert "no harm class 'threats'; did you mean 'threat'" in joined
    assert "did you mean 'dana-whitfield' (the id of 'Dana Whitfield')" in joined
    assert "no platform 'blusky'; did you mean 'bluesky'" in joined
    assert "no narrative 'no-such-story'" in joined
    assert "finite number" in joined
    assert "REACHWATCH_ALERT_" in joined
    assert all(", line " in problem for problem in caught.value.problems)
    assert len(caught.value.problems) == 7


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 20_000 + "]" * 20_000, "rules:\n  - id: x\n    when: {threat: " + "9" * 5_000 + "}\n"],
)
def test_hostile_yaml_is_a_rule_error_not_a_crash(text: str) -> None:
    from reachwatch.alerts.rules import RuleError

    with pytest.raises(RuleError):
        parse(text)
