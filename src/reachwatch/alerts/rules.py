"""Alert rules: read from YAML, checked with errors that name the line and the field, and matched
against a post's features.

    channels:
      ops:   {type: webhook, url: "https://ops.example/hook", max_attempts: 6}
      duty:  {type: email, host: smtp.example, port: 587, sender: rw@example, to: [duty@example]}
      chat:  {type: apprise, urls: ["mmosts://…"]}
    rules:
      - id: threat-naming-protected
        title: Threat naming a protected person
        severity: high                      # low | medium | high | critical
        query: '"Dana Whitfield" OR minister'  # optional: only posts this search matches
        when:                               # every condition must hold
          watched_author: true
          protected_person_named: true
          threat: {at_least: 0.5}
        dedup: [post]                       # one alert per post (post, author, person, narrative, day)
        escalate:                           # a later snapshot crossing these raises the severity
          - {severity: critical, when: {velocity_per_hour: {at_least: 500}}}
        quiet:                              # delivery held in these hours (the inbox still shows it)
          - {from: "22:00", to: "07:00", timezone: Europe/London, except: [critical]}
        notify: [ops, duty]
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml

from reachwatch import query as search_query
from reachwatch.alerts import features as feature_registry
from reachwatch.errors import UsageError

SEVERITIES = ("low", "medium", "high", "critical")
Severity = Literal["low", "medium", "high", "critical"]
DEDUP_FIELDS = ("post", "author", "person", "narrative", "day")

ALLOWED = {
    "severity": SEVERITIES,
    "except": SEVERITIES,
    "dedup": DEDUP_FIELDS,
    "type": ("webhook", "email", "apprise"),
    "days": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
}
CHANNEL_SECRET_PREFIX = "REACHWATCH_ALERT_"  # the only variables a channel may read its secrets from


class Range(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None
    equals: str | float | bool | None = None
    any_of: list[str] | None = None


Condition = bool | int | float | str | Range


class Escalation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    severity: Severity
    when: dict[str, Condition]


class Quiet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename={"start": "from", "end": "to"}):
    start: str
    end: str
    timezone: str = "UTC"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    # Severities that are delivered even in the quiet hours.
    except_: list[Severity] = msgspec.field(default_factory=list, name="except")


class Rule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: str
    title: str
    severity: Severity
    when: dict[str, Condition] = msgspec.field(default_factory=dict)
    # A query in the search language (reachwatch.query): the rule holds only for posts it matches,
    # e.g. a saved search made into a rule.
    query: str | None = None
    dedup: list[Literal["post", "author", "person", "narrative", "day"]] = msgspec.field(
        default_factory=lambda: ["post"]
    )
    escalate: list[Escalation] = msgspec.field(default_factory=list)
    quiet: list[Quiet] = msgspec.field(default_factory=list)
    notify: list[str] = msgspec.field(default_factory=list)
    enabled: bool = True


class Channel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: Literal["webhook", "email", "apprise"]
    url: str | None = None  # webhook
    secret_env: str | None = None  # webhook: the environment variable holding its HMAC key
    timeout_s: float = 5.0
    max_attempts: int = 6  # then the delivery is dead-lettered
    host: str | None = None  # email
    port: int = 25
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: list[str] = msgspec.field(default_factory=list)
    urls: list[str] = msgspec.field(default_factory=list)  # apprise


class RuleSet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rules: list[Rule] = msgspec.field(default_factory=list)
    channels: dict[str, Channel] = msgspec.field(default_factory=dict)

    def costly_features(self) -> set[str]:
        named = {name for rule in self.rules for name in rule.when}
        named |= {name for rule in self.rules for step in rule.escalate for name in step.when}
        return {name for name in named if feature_registry.tier_of(name) == "costly"}


class RuleError(UsageError):
    """A rules file that cannot be used; the message lists every problem with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The alert rules have problems:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def _line_of(node: yaml.Node | None, path: list[str | int]) -> int | None:
    """The 1-based line of the YAML node at `path` (or of its nearest parent that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = next((pair for pair in node.value if getattr(pair[0], "value", None) == part), None)
            if found is None:
                return line
            node = found[1]
            line = found[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _path(text: str) -> list[str | int]:
    """`$.rules[0].when.threat` → ['rules', 0, 'when', 'threat']."""
    parts: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", text.removeprefix("$")):
        parts.append(int(index) if index else name)
    return parts


def _where(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top)"


class References(msgspec.Struct, kw_only=True):
    """What a rule may name: the deployment's protected people and narratives (ids, with their
    names to suggest from), platforms and harm classes. Without one, references go unchecked."""

    people: dict[str, str] = msgspec.field(default_factory=dict)  # id → name
    narratives: dict[str, str] = msgspec.field(default_factory=dict)  # id → name
    platforms: tuple[str, ...] = ()
    harm_flags: tuple[str, ...] = ("offensive", "hateful", "threat")


MAX_RULES_BYTES = 1_000_000


def _schema_problem(exc: msgspec.ValidationError, prefix: list[str | int]) -> tuple[list[str | int], str]:
    message = str(exc)
    location = message.rsplit(" - at `", 1)
    path = [*prefix, *_path(location[1].rstrip("`"))] if len(location) == 2 else list(prefix)
    named = next((part for part in reversed(path) if isinstance(part, str)), "")
    hint = f"; use one of {', '.join(ALLOWED[named])}" if "enum" in message and named in ALLOWED else ""
    return path, f"{location[0].rstrip('.')}{hint}."


def _convert_all(
    data: Any, references: References | None
) -> tuple[RuleSet | None, list[tuple[list[str | int], str]]]:
    """The rule set, or every problem: each rule and channel is converted on its own so one
    mistake does not hide the next, and the parts that convert are checked as a whole would be."""
    try:
        return msgspec.convert(data, RuleSet), []
    except msgspec.ValidationError as first:
        if not isinstance(data, dict):
            return None, [_schema_problem(first, [])]
    problems: list[tuple[list[str | int], str]] = []
    for key in data:
        if key not in ("rules", "channels"):
            problems.append(([str(key)], f"unknown section {key!r}; the sections are rules and channels."))
    rules, channels = data.get("rules") or [], data.get("channels") or {}
    for name, part, kind in (("rules", rules, list), ("channels", channels, dict)):
        if not isinstance(part, kind):
            problems.append(([name], f"{name} is a {'list' if kind is list else 'mapping'}."))
    good_rules: dict[int, Rule] = {}
    good_channels: dict[str, Channel] = {}
    broken_channels: set[str] = set()
    if isinstance(rules, list):
        for i, rule in enumerate(rules):
            try:
                good_rules[i] = msgspec.convert(rule, Rule)
            except msgspec.ValidationError as exc:
                problems.append(_schema_problem(exc, ["rules", i]))
    if isinstance(channels, dict):
        for name, channel in channels.items():
            try:
                good_channels[str(name)] = msgspec.convert(channel, Channel)
            except msgspec.ValidationError as exc:
                broken_channels.add(str(name))
                problems.append(_schema_problem(exc, ["channels", str(name)]))
    # The parts that convert, checked in place (rule numbers as in the file).
    partial = RuleSet(rules=list(good_rules.values()), channels=good_channels)
    numbers = list(good_rules)
    for path, problem in check(partial, references):
        if len(path) > 1 and path[0] == "rules" and isinstance(path[1], int):
            path = ["rules", numbers[path[1]], *path[2:]]
        if any(f"{name!r}" in problem for name in broken_channels):
            continue  # a channel that failed to convert is already reported
        problems.append((path, problem))
    return None, problems or [([], "the rules do not have the expected shape.")]


def parse(text: str, source: str = "rules", references: References | None = None) -> RuleSet:
    """Rules from YAML text, or RuleError naming every problem with its line and field."""
    if len(text.encode("utf-8", "replace")) > MAX_RULES_BYTES:
        raise RuleError([f"{source}: the rules are over {MAX_RULES_BYTES:,} bytes; split or shorten them."])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise RuleError([f"{source}, {where}: not valid YAML ({getattr(exc, 'problem', exc)})."]) from exc
    except RecursionError as exc:
        raise RuleError([f"{source}: the YAML is nested too deeply to be rules."]) from exc
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise RuleError([f"{source}: a value cannot be read ({exc})."]) from exc
    if data is None:
        data = {}
    found, problems = _convert_all(data, references)
    if found is not None:
        problems = check(found, references)
    if problems:
        raise RuleError(
            [
                f"{source}, line {_line_of(node, path)}, {_where(path)}: {problem}"
                for path, problem in problems
            ]
        )
    assert found is not None
    return found


def _suggest(value: str, known: dict[str, str] | tuple[str, ...]) -> str:
    """'; did you mean …?' from the known ids (or, for a name, the id behind it)."""
    import difflib

    names = dict(known) if isinstance(known, dict) else {k: k for k in known}
    by_name = {name.lower(): ident for ident, name in names.items()}
    if value.lower() in by_name:
        return f"; did you mean {by_name[value.lower()]!r} (the id of {value!r})?"
    close = difflib.get_close_matches(value, list(names), n=3, cutoff=0.6)
    close += [by_name[n] for n in difflib.get_close_matches(value.lower(), list(by_name), n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(sorted(names)[:10]) or "none yet"
    return f"; known: {shown}."


REFERENCED = {
    "person": "people",
    "aimed_at": "people",
    "narrative": "narratives",
    "platform": "platforms",
    "harm_flag": "harm_flags",
}


def _references(
    when: dict[str, Condition], at: list[str | int], references: References
) -> list[tuple[list[str | int], str]]:
    problems: list[tuple[list[str | int], str]] = []
    for name, condition in when.items():
        if name not in REFERENCED:
            continue
        known: dict[str, str] | tuple[str, ...] = getattr(references, REFERENCED[name])
        values = (
            (condition.any_of or []) + ([str(condition.equals)] if condition.equals is not None else [])
            if isinstance(condition, Range)
            else [condition]
            if isinstance(condition, str)
            else []
        )
        for value in values:
            if value not in known:
                what = {"person": "protected person", "aimed_at": "protected person",
                        "narrative": "narrative", "platform": "platform",
                        "harm_flag": "harm class"}[name]  # fmt: skip
                problems.append(
                    (
                        [*at, name],
                        f"no {what} {value!r}{_suggest(value, known)} (a rule naming it could never fire)",
                    )
                )
    return problems


def check(rules: RuleSet, references: References | None = None) -> list[tuple[list[str | int], str]]:
    """Problems a schema cannot see: unknown features, channels, people, narratives, platforms and
    harm classes; duplicate ids; bad times; thresholds that are not numbers; secrets read from
    variables outside the alert channels' own."""
    problems: list[tuple[list[str | int], str]] = []
    for name, channel in rules.channels.items():
        for field in ("secret_env", "username_env", "password_env"):
            variable = getattr(channel, field)
            if variable and not variable.startswith(CHANNEL_SECRET_PREFIX):
                problems.append(
                    (["channels", name, field], f"{variable!r}: a channel reads only variables named "
                     f"{CHANNEL_SECRET_PREFIX}… (so no rule can send another secret of the deployment)."),
                )  # fmt: skip
    for name, channel in rules.channels.items():
        at: list[str | int] = ["channels", name]
        if channel.type == "webhook" and not (channel.url or "").startswith(("http://", "https://")):
            problems.append(([*at, "url"], "a webhook needs an http:// or https:// url."))
        if channel.type == "email" and not (channel.host and channel.sender and channel.to):
            problems.append((at, "an email channel needs host, sender and to."))
        if channel.type == "apprise" and not channel.urls:
            problems.append(([*at, "urls"], "an apprise channel needs at least one URL."))
        if not 1 <= channel.max_attempts <= 50:
            problems.append(([*at, "max_attempts"], "max_attempts is between 1 and 50."))
    seen: set[str] = set()
    for i, rule in enumerate(rules.rules):
        at = ["rules", i]
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", rule.id):
            problems.append(
                ([*at, "id"], f"{rule.id!r}: an id is lower-case letters, digits, '-', '_' or '.'.")
            )
        if rule.id in seen:
            problems.append(([*at, "id"], f"{rule.id!r} is used by an earlier rule."))
        seen.add(rule.id)
        if not rule.when and not rule.query:
            problems.append(([*at, "when"], "a rule needs at least one condition, or a query."))
        if rule.query is not None:
            try:
                if search_query.parse(rule.query) is None:
                    problems.append(
                        ([*at, "query"], "the query is empty: give words or fields, or leave it out.")
                    )
            except UsageError as error:
                problems.append(([*at, "query"], str(error)))
        problems += _conditions(rule.when, [*at, "when"])
        if references is not None:
            problems += _references(rule.when, [*at, "when"], references)
        last = SEVERITIES.index(rule.severity)
        for j, step in enumerate(rule.escalate):
            problems += _conditions(step.when, [*at, "escalate", j, "when"])
            if references is not None:
                problems += _references(step.when, [*at, "escalate", j, "when"], references)
            if SEVERITIES.index(step.severity) <= last:
                problems.append(
                    ([*at, "escalate", j, "severity"], "each escalation must raise the severity.")
                )
            last = max(last, SEVERITIES.index(step.severity))
        for j, quiet in enumerate(rule.quiet):
            for field, value in (("from", quiet.start), ("to", quiet.end)):
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                    problems.append(([*at, "quiet", j, field], f"{value!r} is not a time as HH:MM."))
            try:
                ZoneInfo(quiet.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(([*at, "quiet", j, "timezone"], f"unknown time zone {quiet.timezone!r}."))
        for j, channel_name in enumerate(rule.notify):
            if channel_name not in rules.channels:
                problems.append(([*at, "notify", j], f"no channel named {channel_name!r} under channels."))
    return problems


def _conditions(when: dict[str, Condition], at: list[str | int]) -> list[tuple[list[str | int], str]]:
    problems: list[tuple[list[str | int], str]] = []
    for name, condition in when.items():
        kind = feature_registry.kinds().get(name)
        if kind is None:
            known = ", ".join(sorted(feature_registry.kinds()))
            problems.append(([*at, name], f"unknown feature {name!r}; features: {known}."))
            continue
        if isinstance(condition, Range):
            bounds = (condition.at_least, condition.above, condition.at_most, condition.below)
            if any(b is not None and not math.isfinite(b) for b in bounds) or (
                isinstance(condition.equals, float) and not math.isfinite(condition.equals)
            ):
                problems.append(([*at, name], "a threshold must be a finite number (not .nan or .inf)."))
            if kind != "number" and any(b is not None for b in bounds):
                problems.append(([*at, name], f"{name} is not a number: compare it with equals or any_of."))
            if all(b is None for b in bounds) and condition.equals is None and condition.any_of is None:
                problems.append(([*at, name], "say at_least, above, at_most, below, equals or any_of."))
        elif kind == "bool" and not isinstance(condition, bool):
            problems.append(([*at, name], f"{name} is true or false."))
        elif isinstance(condition, float) and not math.isfinite(condition):
            problems.append(([*at, name], "a threshold must be a finite number (not .nan or .inf)."))
        elif kind == "number" and (isinstance(condition, bool) or not isinstance(condition, int | float)):
            problems.append(([*at, name], f"{name} is a number: write {{at_least: …}} or a number."))
    return problems


def matches(when: dict[str, Condition], features: dict[str, Any]) -> bool:
    return all(_holds(condition, features.get(name)) for name, condition in when.items())


def _holds(condition: Condition, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(condition, Range):
        if isinstance(value, list):
            wanted = condition.any_of or ([str(condition.equals)] if condition.equals is not None else [])
            return any(str(item) in wanted for item in value)
        if condition.any_of is not None and str(value) not in condition.any_of:
            return False
        if condition.equals is not None and value != condition.equals:
            return False
        if not isinstance(value, int | float) or isinstance(value, bool):
            return all(
                b is None for b in (condition.at_least, condition.above, condition.at_most, condition.below)
            )
        number = float(value)
        return (
            (condition.at_least is None or number >= condition.at_least)
            and (condition.above is None or number > condition.above)
            and (condition.at_most is None or number <= condition.at_most)
            and (condition.below is None or number < condition.below)
        )
    if isinstance(value, list):
        return str(condition) in [str(item) for item in value]
    if isinstance(condition, bool) or isinstance(value, bool):
        return bool(value) is condition if isinstance(condition, bool) else False
    if isinstance(condition, int | float):
        return isinstance(value, int | float) and float(value) >= float(condition)  # a bare number: at least
    return str(value) == condition


def reason(rule: Rule, level: int, features: dict[str, Any]) -> str:
    """Why an alert stands, in words: each condition of the rule (and of the escalation step it
    reached) with the post's value, e.g. "by a watched account; engagements ≥ 5,000 (6,120)"."""
    said = [_said(name, condition, features.get(name)) for name, condition in rule.when.items()]
    if rule.query:
        said.insert(0, f"matches the search {rule.query!r}")
    if 0 < level <= len(rule.escalate):
        step = rule.escalate[level - 1]
        steps = [_said(name, condition, features.get(name)) for name, condition in step.when.items()]
        said.append(f"raised to {step.severity}: " + "; ".join(steps))
    return "; ".join(said)


def _said(name: str, condition: Condition, value: Any) -> str:
    words, _ = feature_registry.label(name)
    now = feature_registry.shown(name, value)
    if isinstance(condition, bool):
        return words if condition else f"not {words}"
    if isinstance(condition, int | float):
        return f"{words} ≥ {feature_registry.shown(name, condition)} ({now})"
    if isinstance(condition, str):
        return f"{words} is {condition}"
    bounds = (
        ("≥", condition.at_least), (">", condition.above), ("≤", condition.at_most), ("<", condition.below)
    )  # fmt: skip
    parts = [f"{sign} {feature_registry.shown(name, bound)}" for sign, bound in bounds if bound is not None]
    if condition.equals is not None:
        parts.append(f"is {feature_registry.shown(name, condition.equals)}")
    if condition.any_of is not None:
        parts.append(("include " if isinstance(value, list) else "is ") + " or ".join(condition.any_of))
    return f"{words} {' and '.join(parts)} ({now})"


def level_of(rule: Rule, features: dict[str, Any]) -> tuple[int, str]:
    """(escalation steps crossed, severity): the highest step whose conditions hold."""
    level, severity = 0, rule.severity
    for i, step in enumerate(rule.escalate, start=1):
        if matches(step.when, features):
            level, severity = i, step.severity
    return level, severity


def quiet_until(rule: Rule, severity: str, at: datetime) -> datetime | None:
    """When delivery may go ahead if `at` falls in one of the rule's quiet periods, else None."""
    for quiet in rule.quiet:
        if severity in quiet.except_:
            continue
        zone = ZoneInfo(quiet.timezone)
        local = at.astimezone(zone)
        start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
        now = local.time()
        inside = start <= now < end if start <= end else (now >= start or now < end)
        # A period over midnight belongs to the day it starts on.
        day_of_start = local if (start <= end or now >= start) else local - timedelta(days=1)
        if quiet.days and day_of_start.strftime("%a").lower() not in quiet.days:
            continue
        if inside:
            ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
            if ends <= local:
                ends = ends + timedelta(days=1)
            return ends
    return None


def dedup_key(rule: Rule, features: dict[str, Any]) -> str:
    parts = [rule.id]
    for field in rule.dedup:
        if field == "post":
            parts.append(str(features.get("post_id", "")))
        elif field == "author":
            parts.append(str(features.get("author", "")))
        elif field == "person":
            parts.append(",".join(sorted(features.get("person") or [])))
        elif field == "narrative":
            parts.append(",".join(sorted(features.get("narrative") or [])))
        elif field == "day":
            created = features.get("created_at_us") or 0
            parts.append(datetime.fromtimestamp(created / 1e6, tz=UTC).strftime("%Y-%m-%d"))
    return "|".join(parts)
