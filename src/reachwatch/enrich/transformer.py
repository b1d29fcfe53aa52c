"""A transformer exported to ONNX, run in onnxruntime on the CPU: its tokenizer.json, its session,
and batches of texts of similar length (little time goes to padding). The sentence encoder
(narratives) and the harm classifier are two such models; they share this code and the
vocabulary, not the weights (fine-tuning changed every layer of the harm model)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reachwatch.errors import UsageError


class OnnxText:
    """An ONNX transformer and its tokenizer; `batches` yields (rows, ids, mask) per batch."""

    def __init__(
        self, directory: Path, max_length: int, threads: int | None = None, sha256: str | None = None
    ):
        model = directory / "model.onnx"
        if not model.is_file() or not (directory / "tokenizer.json").is_file():
            raise UsageError(f"No ONNX model with its tokenizer.json in {directory.resolve()}.")
        if sha256 is not None and hashlib.sha256(model.read_bytes()).hexdigest() != sha256:
            raise UsageError(
                f"{model} is not the file its manifest names (sha256 differs): restore it from the "
                "repository, or retrain it with the script the manifest names."
            )
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        # REACHWATCH_MODEL_THREADS caps it per process (`worker enrich --model-threads`): several
        # workers on one machine then share its cores instead of each taking all of them.
        capped = int(os.environ.get("REACHWATCH_MODEL_THREADS") or 0)
        options.intra_op_num_threads = threads or capped or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = {item.name for item in self.session.get_inputs()}

    def batches(
        self, texts: Sequence[str], batch_size: int = 32
    ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """The texts tokenised and grouped by length: row numbers, token ids, attention mask."""
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.array([len(encoding.ids) for encoding in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows.tolist()):
                tokens = encodings[row].ids
                ids[i, : len(tokens)] = tokens
                mask[i, : len(tokens)] = 1
            yield rows, ids, mask

    def run(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Any:
        """The model's first output for one batch."""
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return self.session.run(None, feed)[0]
