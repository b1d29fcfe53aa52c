"""Narrative throughput: embedding posts (int8 MiniLM, two cores), assigning them to 100 tracked
narratives, and discovering themes among 100,000 posts.

Run: .venv/bin/python benchmarks/narratives_speed.py [--posts 100000] [--embed 2000]
Embedding uses real tweets (TweetEval train) when ../shared/data is present. Assignment and
discovery use unit vectors drawn around 40 planted centres in 384 dimensions (the discovery's
cost depends on the count and the shape, not on where the vectors came from), and report how many
planted themes discovery found (adjusted Rand index against the planted labels).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from reachwatch.analysis.narratives import assign, discover
from reachwatch.enrich.embedding import DEFAULT_MODEL_DIR, SentenceEncoder

SHARED = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "harm"
    / "tweeteval"
    / "offensive"
    / "train_text.txt"
)


def planted(posts: int, centres: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    middle = rng.normal(size=(centres, 384))
    labels = rng.integers(0, centres, posts)
    vectors = middle[labels] + rng.normal(scale=0.9, size=(posts, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--embed", type=int, default=2_000)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    if (args.model / "model.onnx").is_file():
        texts = SHARED.read_text(encoding="utf-8").splitlines()[: args.embed] if SHARED.is_file() else []
        texts = texts or [f"post number {i} about the news today" for i in range(args.embed)]
        encoder = SentenceEncoder(args.model, threads=2)
        encoder.encode(texts[:64])
        started = time.perf_counter()
        encoder.encode(texts)
        print(
            f"embedding ({encoder.version}), 2 cores: "
            f"{len(texts) / (time.perf_counter() - started):,.0f} posts/s"
        )
    vectors, labels = planted(args.posts, 40, rng)
    examples = [planted(5, 1, rng)[0] for _ in range(100)]
    started = time.perf_counter()
    for start in range(0, len(vectors), 10_000):
        assign(vectors[start : start + 10_000], examples, [0.6] * 100)
    print(
        "assignment to 100 narratives (5 examples each): "
        f"{len(vectors) / (time.perf_counter() - started):,.0f} posts/s"
    )
    texts = [f"theme{label} word{label} filler" for label in labels]
    started = time.perf_counter()
    found, clusters = discover(vectors, texts, min_cluster_size=50)
    seconds = time.perf_counter() - started
    from sklearn.metrics import adjusted_rand_score

    print(
        f"discovery over {len(vectors):,} posts: {seconds:.1f} s, {len(clusters)} themes "
        f"(40 planted), ARI {adjusted_rand_score(labels, found):.3f}, noise {np.mean(found == -1):.1%}"
    )


if __name__ == "__main__":
    main()
