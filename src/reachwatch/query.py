"""The search language, one for the web, the API and the CLI: words and "quoted phrases" (all of
them by default), `AND`, `OR`, `NOT` (or a leading `-`), parentheses, and fields:

    from:HANDLE|ID|PSEUDONYM  since:2026-10-13  until:2026-10-14T12:00Z  lang:en
    harm:offensive|hateful|threat|any  person:dana-whitfield  platform:bluesky

`NOT` binds tightest, then `AND` (also two terms side by side), then `OR`; the operators are
upper case (`or` is a word, as in Google's and 4CAT's syntax). A field's value may be quoted
(`from:"Dana W"`). A word with a colon that is not a field (`https://x.org`) is a word.

This module only parses: `parse` gives a tree of `Term`, `Field`, `Not`, `AllOf` and `AnyOf`; the
service resolves each field's value (an account, a time) and the store compiles the tree to SQL
(FTS5 on SQLite, tsvector on PostgreSQL). Wrong syntax is refused with a message that says what
to type instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import msgspec

from reachwatch.errors import UsageError
from reachwatch.model import micros_from_datetime

FIELDS = ("from", "since", "until", "lang", "harm", "person", "platform")
HARM_VALUES = ("offensive", "hateful", "threat", "any")
MAX_NODES = 64  # terms and fields in one query: a bound on the SQL it compiles to


class Term(msgspec.Struct, frozen=True, tag="term"):
    text: str  # a word or a phrase (several words in this order)


class Field(msgspec.Struct, frozen=True, tag="field"):
    name: str
    value: str  # as typed, until resolved: then an account id, microseconds, a code


class Not(msgspec.Struct, frozen=True, tag="not"):
    child: Node


class AllOf(msgspec.Struct, frozen=True, tag="all"):
    children: list[Node]


class AnyOf(msgspec.Struct, frozen=True, tag="any"):
    children: list[Node]


Node = Term | Field | Not | AllOf | AnyOf

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<field>(?:" + "|".join(FIELDS) + r'):(?:"[^"]*"?|[^\s()]*))'
    r'|(?P<phrase>-?"[^"]*"?)|(?P<word>[^\s()]+))'
)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    while at < len(text):
        matched = _TOKEN.match(text, at)
        if matched is None or matched.end() == at:
            break
        at = matched.end()
        kind = matched.lastgroup
        if kind is not None:
            found.append((kind, matched.group(kind)))
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.nodes = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_operator(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token == ("word", word)

    def any_of(self) -> Node:
        children = [self.all_of()]
        while self.is_operator("OR"):
            self.take()
            if self.peek() is None or self.peek() == ("close", ")") or self.is_operator("OR"):
                raise UsageError("OR needs something on each side: e.g. `Whitfield OR minister`.")
            children.append(self.all_of())
        return children[0] if len(children) == 1 else AnyOf(children)

    def all_of(self) -> Node:
        children = [self.negated()]
        while (token := self.peek()) is not None and token[0] != "close" and not self.is_operator("OR"):
            if self.is_operator("AND"):
                self.take()
                if self.peek() is None or self.is_operator("OR") or self.peek() == ("close", ")"):
                    raise UsageError("AND needs something on each side: e.g. `Whitfield AND jail`.")
            children.append(self.negated())
        return children[0] if len(children) == 1 else AllOf(children)

    def negated(self) -> Node:
        for operator, example in (("OR", "Whitfield OR minister"), ("AND", "Whitfield AND jail")):
            if self.is_operator(operator):
                raise UsageError(f"{operator} needs something on each side: e.g. `{example}`.")
        if self.is_operator("NOT"):
            self.take()
            if self.peek() is None or self.peek() == ("close", ")") or self.is_operator("OR"):
                raise UsageError("NOT needs something after it: e.g. `Whitfield NOT football`.")
            return Not(self.negated())
        token = self.peek()
        negative = token is not None and token[0] in ("word", "phrase") and token[1].startswith("-")
        if token is not None and negative and len(token[1]) > 1:
            self.take()
            self.tokens[self.at : self.at] = _tokens(token[1][1:])  # -from:x is NOT from:x
            return Not(self.negated())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "open":
            if self.peek() is None or self.peek() == ("close", ")"):
                raise UsageError("Empty parentheses: put a term inside, e.g. `(jail OR prison)`.")
            inside = self.any_of()
            if self.peek() != ("close", ")"):
                raise UsageError("A parenthesis is not closed: add `)`.")
            self.take()
            return inside
        if kind == "close":
            raise UsageError("A `)` closes nothing: remove it or add `(` before.")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise UsageError(f"The search has more than {MAX_NODES} terms: split it into several.")
        if kind == "field":
            name, _, given = value.partition(":")
            given = given.strip('"').strip()
            if not given:
                raise UsageError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}.")
            return Field(name, given)
        words = value.strip('"').strip()
        if not words:
            raise UsageError('An empty phrase (""): put words between the quotes.')
        return Term(words)


_EXAMPLES = {
    "from": "from:maxharlan.bsky.social",
    "since": "since:2026-10-13",
    "until": "until:2026-10-14T12:00Z",
    "lang": "lang:en",
    "harm": "harm:threat",
    "person": "person:dana-whitfield",
    "platform": "platform:bluesky",
}


def parse(text: str) -> Node | None:
    """The tree of a query (None when it is empty); wrong syntax is refused with what to type."""
    parser = _Parser(text)
    if parser.peek() is None:
        return None
    tree = parser.any_of()
    if parser.peek() is not None:  # only a stray `)` stops the top level early
        raise UsageError("A `)` closes nothing: remove it or add `(` before.")
    return tree


def iso_micros(value: str, name: str) -> int:
    """An ISO date or time (UTC unless it says otherwise) as microseconds."""
    try:
        return micros_from_datetime(datetime.fromisoformat(value.replace("z", "Z")))
    except ValueError as exc:
        raise UsageError(
            f"{name}:{value} is not an ISO time: e.g. {name}:2026-10-13 or {name}:2026-10-13T18:00Z."
        ) from exc


def resolve(node: Node, account: Callable[[str], str], platforms: frozenset[str]) -> Node:
    """The tree with every field's value checked and made canonical: `from:` an account id (by
    `account`, which knows handles and pseudonyms), `since:`/`until:` microseconds, `harm:` and
    `lang:` lower case, `platform:` a known one."""
    if isinstance(node, Term):
        return node
    if isinstance(node, Not):
        return Not(resolve(node.child, account, platforms))
    if isinstance(node, AllOf | AnyOf):
        return type(node)([resolve(child, account, platforms) for child in node.children])
    value = node.value
    if node.name == "from":
        return Field("from", account(value))
    if node.name in ("since", "until"):
        return Field(node.name, str(iso_micros(value, node.name)))
    if node.name == "harm":
        if value.lower() not in HARM_VALUES:
            raise UsageError(f"harm:{value} is not a harm class: use harm:{' or harm:'.join(HARM_VALUES)}.")
        return Field("harm", value.lower())
    if node.name == "lang":
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?", value):
            raise UsageError(f"lang:{value} is not a language tag: e.g. lang:en or lang:pt-BR.")
        return Field("lang", value.lower())
    if node.name == "platform":
        if value.lower() not in platforms:
            known = ", ".join(sorted(platforms))
            raise UsageError(f"platform:{value} is not a platform: use one of {known}.")
        return Field("platform", value.lower())
    return node  # person: checked by the store's registry at compile time


def terms(node: Node | None, *, negated: bool = False) -> list[str]:
    """The words and phrases a post must or may contain (not those under NOT): what relevance
    ranks by and what a page highlights."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [] if negated else [node.text]
    if isinstance(node, Not):
        return terms(node.child, negated=not negated)
    if isinstance(node, AllOf | AnyOf):
        return [text for child in node.children for text in terms(child, negated=negated)]
    return []


def has_text(node: Node | None) -> bool:
    """Whether any word or phrase is in the tree (under NOT too)."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return has_text(node.child)
    if isinstance(node, AllOf | AnyOf):
        return any(has_text(child) for child in node.children)
    return False


def describe(node: Node | None) -> str:
    """The tree written back in the language, fully bracketed: what the search understood."""
    if node is None:
        return ""
    if isinstance(node, Term):
        plain = _TOKEN.fullmatch(node.text) is not None and _tokens(node.text) == [("word", node.text)]
        bare = plain and node.text not in ("AND", "OR", "NOT") and not node.text.startswith("-")
        return node.text if bare else f'"{node.text}"'
    if isinstance(node, Field):
        return f'{node.name}:"{node.value}"' if " " in node.value else f"{node.name}:{node.value}"
    if isinstance(node, Not):
        return f"NOT {describe(node.child)}"
    joined = " AND " if isinstance(node, AllOf) else " OR "
    return "(" + joined.join(describe(child) for child in node.children) + ")"
