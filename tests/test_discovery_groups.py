"""Discovery merges repeated texts before clustering: a text posted a hundred times (retweets, a
copy-paste campaign, a link or mention added) is one theme, not dozens; distinct texts of one
topic cluster together; themes rank by size or by posts flagged harmful; the page is paged."""

from __future__ import annotations

import numpy as np

from reachwatch.analysis.narratives import discover, repeats

RNG = np.random.default_rng(3)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_repeats_ignore_case_links_mentions_and_tiny_changes() -> None:
    base = _unit(RNG.normal(size=(3, 32)))
    texts = [
        "Jail the minister now!",
        "RT @someone: jail the minister now https://t.co/abc",
        "JAIL THE MINISTER NOW",
        "Lower taxes for working families",
        "Something else entirely",
    ]
    vectors = np.stack([base[0], base[0] + 0.01, base[0], base[1], base[2]])
    group = repeats(_unit(vectors), texts)
    assert group[0] == group[1] == group[2]
    assert len({group[0], group[3], group[4]}) == 3
    nudged = np.stack([base[1], _unit(base[1] + 0.05 * base[2])])  # a near copy: cosine ≥ 0.95
    assert repeats(nudged, ["Lower taxes for working families", "Lower taxes for families who work"])[0] == 0
    assert len(set(repeats(nudged, ["a", "b"], similarity=0.9999).tolist())) == 2


def test_a_repeated_text_is_one_theme_and_topics_cluster() -> None:
    topic_a, topic_b = _unit(RNG.normal(size=(2, 32))) * 3
    texts: list[str] = []
    vectors: list[np.ndarray] = []
    for n in range(120):  # one slogan, posted 120 times with mentions and links
        texts.append(f"@user{n} Jail the minister! https://x.example/{n}")
        vectors.append(topic_a)
    for n in range(30):  # thirty different texts about one other topic
        texts.append(f"budget text number {n} about taxes and spending")
        vectors.append(topic_b + RNG.normal(scale=0.3, size=32))
    for n in range(40):  # unrelated chatter
        texts.append(f"chatter {n} " + " ".join(RNG.choice(list("abcdefghij"), 5)))
        vectors.append(RNG.normal(size=32) * 3)
    labels, themes = discover(_unit(np.stack(vectors)), texts, min_cluster_size=10)
    by_size = [t.size for t in themes]
    assert by_size == sorted(by_size, reverse=True)  # largest first
    slogan = [t for t in themes if 120 <= t.size <= 130 and t.distinct <= 10]
    assert len(slogan) == 1  # 120 posts of one text: one theme, not one per dense clump
    budget = [t for t in themes if t.keywords[0] == "budget"]
    assert len(budget) == 1
    assert budget[0].distinct >= 25  # thirty different texts, one topic: one theme
    assert set(labels[:120].tolist()) == {slogan[0].label}
    assert len(themes) <= 4
    assert len({texts[i] for i in budget[0].representatives}) == len(budget[0].representatives)
