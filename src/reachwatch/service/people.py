"""The registry of protected people: add, list and import (TOML, JSON or JSONL files)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import msgspec

from reachwatch.errors import UsageError
from reachwatch.model import Person
from reachwatch.store.collection import people
from reachwatch.store.database import Store


class _PeopleFile(msgspec.Struct):
    people: list[Person]


def person_id(name: str) -> str:
    """A readable id from a name: 'Jess Phillips' → 'jess-phillips'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:100]
    if not slug:
        raise UsageError(f"Cannot make an id from the name {name!r}; give one with --id.")
    return slug


def add(store: Store, person: Person) -> Person:
    store.write_records([person])
    return person


def list_people(store: Store) -> list[Person]:
    return people(store)


def read_people_file(path: Path) -> list[Person]:
    """People from `[[people]]` TOML, a JSON list or object with `people`, or JSONL (one per line)."""
    if not path.is_file():
        raise UsageError(f"Cannot import {path}: no such file.")
    data = path.read_bytes()
    try:
        if path.suffix == ".toml":
            return msgspec.toml.decode(data, type=_PeopleFile).people
        if path.suffix == ".jsonl":
            return [msgspec.json.decode(line, type=Person) for line in data.splitlines() if line.strip()]
        decoded = msgspec.json.decode(data)
        if isinstance(decoded, dict):
            return msgspec.convert(decoded, _PeopleFile).people
        return msgspec.convert(decoded, list[Person])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise UsageError(
            f"{path} is not a people file: {exc}. Each person needs an id (lower-case, digits, '-'), a name, "
            "and may have aliases, roles and handles per platform."
        ) from exc


def import_file(store: Store, path: Path) -> list[Person]:
    found = read_people_file(path)
    store.write_records(found)
    return found
