"""What a scenario did, recorded so that analyses can be scored against it."""

from __future__ import annotations

import msgspec

from reachwatch.model import Person


class LabelledPost(msgspec.Struct, array_like=True):
    id: str
    at_us: int
    kind: str  # reply | quote (to the trigger post) | mention (a post naming the person)
    label: str  # neutral | supportive | pushback | abusive | threat


class Truth(msgspec.Struct, kw_only=True):
    """What the scenario did, for `reachwatch eval scenario` to score the analyses against."""

    name: str
    seed: int
    start_us: int
    end_us: int
    watched_account_id: str
    person: Person
    person_account_id: str
    trigger_post_id: str
    trigger_at_us: int
    baseline_post_ids: list[str]
    coordinated_account_ids: list[str]
    coordinated_target_ids: list[str]
    trigger_engager_ids: list[str]
    responses: list[LabelledPost]
    mentions: list[LabelledPost]
    deleted_post_ids: list[str]
    trigger_counts: dict[str, int]
    lines: dict[str, int] = msgspec.field(default_factory=dict)
    # Planted narratives: id → {"name": [..], "examples": [...]}, and each narrative post's narrative.
    narratives: dict[str, dict[str, list[str]]] = msgspec.field(default_factory=dict)
    narrative_posts: dict[str, str] = msgspec.field(default_factory=dict)
    # The comparison pool (protected people the trigger does not name) and the news event that
    # lifts abuse toward all of them, and toward the person, by `shock` from the trigger on.
    pool: list[str] = msgspec.field(default_factory=list)
    shock: float = 1.0
    # The planted reply attack: accounts that reply in concert, within a minute or two, to the
    # person's own posts and to posts naming them; and those target posts.
    reply_attackers: list[str] = msgspec.field(default_factory=list)
    reply_attack_targets: list[str] = msgspec.field(default_factory=list)
