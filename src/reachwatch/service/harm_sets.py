"""The labelled harm sets in ../shared/data/harm, read into one shape: a text, the source it came
from, and a label per head (1, 0, or -1 where the source says nothing). Training
(training/train_harm.py) and evaluation (`reachwatch eval harm --transfer`) read them through
here, so a held-out source is the same texts in both.

Each source's labels, mapped to the heads (HEADS; TARGETS for the target head):
  olid       OLID v1.0 training (13,240 tweets): offensive = level A; target (offensive tweets
             only) = level B/C: untargeted (UNT), individual (TIN+IND), group (TIN+GRP, TIN+OTH:
             an organisation, event or issue is not a person)
  hateval    TweetEval hate train + val (SemEval-2019 HatEval): hateful
  davidson   Davidson et al. 2017: hate speech → hateful and offensive; offensive language →
             offensive, not hateful; neither → neither
  gab        Gab Hate Corpus train: hateful = assault on human dignity, threat = call for
             violence, offensive = any of those or vulgar
  ethos      ETHOS binary (hateful) and multi-label (threat = incites violence; target =
             directed at a person vs generalised at a group), agreement ≥ 0.5
  congress   US-Congress incivility, the 4,000 human-coded tweets: offensive = uncivil

A hateful or threatening text is also offensive (abuse), so those labels imply offensive = 1,
and a text labelled not offensive is neither hateful nor a threat; nothing else is inferred.
The official test splits are not read here: they are kept for
held-out scoring.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from reachwatch.errors import UsageError

HEADS = ("offensive", "hateful", "threat")
TARGETS = ("individual", "group", "untargeted")
UNKNOWN = -1
SEED = 13
DEV_SHARE = 0.1  # of each source, kept out of training: thresholds are chosen on it
DAVIDSON_CAP = 8000  # Davidson is 77% offensive slang: a stratified sample keeps it from dominating
GAB_NEGATIVES = 6000  # Gab: every text positive for some head, and this many of the rest


class Labelled(msgspec.Struct, array_like=True):
    text: str
    source: str
    offensive: int = UNKNOWN
    hateful: int = UNKNOWN
    threat: int = UNKNOWN
    target: int = UNKNOWN  # an index into TARGETS

    def label(self, head: str) -> int:
        value: int = getattr(self, head)
        return value


def _implied(record: Labelled) -> Labelled:
    """Hate and threats are abuse: either implies offensive; so a text that is not offensive is
    neither hateful nor a threat."""
    if record.hateful == 1 or record.threat == 1:
        record.offensive = 1
    if record.offensive == 0:
        record.hateful = 0 if record.hateful == UNKNOWN else record.hateful
        record.threat = 0 if record.threat == UNKNOWN else record.threat
    return record


def _rows(path: Path, delimiter: str) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def olid(root: Path) -> list[Labelled]:
    found = []
    path = root / "olid" / "olid-training-v1.0.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        # The file's own README: tab-separated with quoting disabled (tweets hold bare quotes).
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            offensive = int(row["subtask_a"] == "OFF")
            target = UNKNOWN
            if offensive:
                if row["subtask_b"] == "UNT":
                    target = TARGETS.index("untargeted")
                elif row["subtask_c"] == "IND":
                    target = TARGETS.index("individual")
                elif row["subtask_c"] in ("GRP", "OTH"):
                    target = TARGETS.index("group")
            found.append(_implied(Labelled(row["tweet"], "olid", offensive=offensive, target=target)))
    return found


def hateval(root: Path) -> list[Labelled]:
    found = []
    folder = root / "tweeteval" / "hate"
    for split in ("train", "val"):
        texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = (folder / f"{split}_labels.txt").read_text().split()
        if len(texts) != len(labels):
            raise UsageError(f"{folder}: {len(texts)} texts against {len(labels)} labels in {split}.")
        found += [
            _implied(Labelled(text, "hateval", hateful=int(label)))
            for text, label in zip(texts, labels, strict=True)
        ]
    return found


def davidson(root: Path) -> list[Labelled]:
    found = []
    for row in _rows(root / "davidson-hate-offensive" / "labeled_data.csv", ","):
        kind = row["class"]
        offensive, hateful = int(kind in ("0", "1")), int(kind == "0")
        found.append(_implied(Labelled(row["tweet"], "davidson", offensive=offensive, hateful=hateful)))
    return found


def gab(root: Path) -> list[Labelled]:
    found = []
    for row in _rows(root / "gab-hate-corpus" / "ghc_train.tsv", "\t"):
        hd, cv, vo = (int(row[name]) for name in ("hd", "cv", "vo"))
        found.append(
            _implied(Labelled(row["text"], "gab", offensive=int(hd or cv or vo), hateful=hd, threat=cv))
        )
    return found


def ethos(root: Path) -> list[Labelled]:
    folder = root / "ethos"
    by_text: dict[str, Labelled] = {}
    for row in _rows(folder / "Ethos_Dataset_Binary.csv", ";"):
        by_text[row["comment"]] = Labelled(row["comment"], "ethos", hateful=int(float(row["isHate"]) >= 0.5))
    for row in _rows(folder / "Ethos_Dataset_Multi_Label.csv", ";"):
        record = by_text.setdefault(row["comment"], Labelled(row["comment"], "ethos", hateful=1))
        record.hateful = 1
        record.threat = int(float(row["violence"]) >= 0.5)
        directed = float(row["directed_vs_generalized"]) >= 0.5
        record.target = TARGETS.index("individual" if directed else "group")
    return [_implied(record) for record in by_text.values()]


def congress(root: Path) -> list[Labelled]:
    return [
        _implied(Labelled(row["text"], "congress", offensive=int(row["uncivil"] == "yes")))
        for row in _rows(root / "us-congress-incivility" / "training-data.csv", ",")
    ]


SOURCES: dict[str, Callable[[Path], list[Labelled]]] = {
    "olid": olid, "hateval": hateval, "davidson": davidson, "gab": gab, "ethos": ethos, "congress": congress,
}  # fmt: skip


def available(root: Path) -> list[str]:
    """The sources whose files are under `root`."""
    found = []
    for name, reader in SOURCES.items():
        try:
            reader(root)
        except FileNotFoundError:
            continue
        found.append(name)
    return found


def load(root: Path, names: tuple[str, ...] | None = None) -> list[Labelled]:
    """Every record of the named sources (all of them by default); a missing file is an error
    that names it."""
    unknown = sorted(set(names or ()) - set(SOURCES))
    if unknown:
        raise UsageError(f"Unknown harm source {', '.join(unknown)}: use {', '.join(SOURCES)}.")
    found: list[Labelled] = []
    for name in names or tuple(SOURCES):
        try:
            found += SOURCES[name](root)
        except FileNotFoundError as exc:
            raise UsageError(
                f"Harm source {name}: {exc.filename} not found (see ../shared/data/README.md)."
            ) from exc
    return found


def fingerprint(root: Path, name: str) -> str:
    """The sha256 of a source's texts and labels as read (what a manifest records)."""
    digest = hashlib.sha256()
    for record in SOURCES[name](root):
        digest.update(msgspec.json.encode(record))
    return digest.hexdigest()


def cap(records: list[Labelled], rng: random.Random) -> list[Labelled]:
    """Davidson capped (stratified by its labels); Gab: its positives and a sample of negatives."""
    kept: list[Labelled] = []
    davidson = [r for r in records if r.source == "davidson"]
    if davidson:
        share = min(1.0, DAVIDSON_CAP / len(davidson))
        for key in {(r.offensive, r.hateful) for r in davidson}:
            group = [r for r in davidson if (r.offensive, r.hateful) == key]
            kept += rng.sample(group, max(1, round(len(group) * share)))
    gab = [r for r in records if r.source == "gab"]
    positives = [r for r in gab if r.offensive == 1]
    negatives = [r for r in gab if r.offensive != 1]
    kept += positives + rng.sample(negatives, min(len(negatives), GAB_NEGATIVES))
    return kept + [r for r in records if r.source not in ("davidson", "gab")]


def split(records: list[Labelled], rng: random.Random) -> tuple[list[Labelled], list[Labelled]]:
    """Training and development texts: DEV_SHARE of each source, drawn at random."""
    train, dev = [], []
    for source in sorted({r.source for r in records}):
        mine = [r for r in records if r.source == source]
        rng.shuffle(mine)
        cut = round(len(mine) * DEV_SHARE)
        dev += mine[:cut]
        train += mine[cut:]
    return train, dev


def training_split(root: Path) -> tuple[list[str], list[Labelled], list[Labelled], list[Labelled]]:
    """The sources found, every record, and the training and development records, exactly as
    training/train_harm.py draws them (one seeded generator, the same order of draws)."""
    names = available(root)
    every = load(root, tuple(names))
    rng = random.Random(SEED)
    train, dev = split(cap(every, rng), rng)
    return names, every, train, dev
