"""The tier-1 TF-IDF transform done in bulk with Arrow's compute kernels instead of scikit-learn's
per-document Python loop: tokens, word pairs and vocabulary look-ups for a whole batch at once,
then counts, sublinear tf, idf and the L2 norm in NumPy. It reproduces a fitted scikit-learn
TfidfVectorizer (word 1–2-grams, token pattern \\b\\w[\\w']*\\b, no stop words, sublinear tf, l2)
exactly — a test compares the two matrices — at several times its speed.

Python's \\w is a letter, a number or "_"; a token is a run of those and apostrophes with the
apostrophes at either end dropped, which is what the pattern matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

SEPARATORS = r"[^\p{L}\p{N}_']+"


class BulkTfidf:
    def __init__(self, fitted: Any) -> None:
        if tuple(fitted.ngram_range) != (1, 2) or fitted.analyzer != "word" or fitted.stop_words is not None:
            raise ValueError("BulkTfidf reproduces word 1–2-gram vectorizers without stop words only")
        if not fitted.sublinear_tf or fitted.norm != "l2" or not fitted.use_idf:
            raise ValueError("BulkTfidf reproduces sublinear-tf, idf, l2-normalised vectorizers only")
        vocabulary: dict[str, int] = fitted.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        self.terms = pa.array(terms, type=pa.large_string())
        self.size = len(terms)
        self.idf = np.asarray(fitted.idf_, dtype=np.float64)

    def transform(self, prepared: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of texts already through the vectorizer's preprocessor."""
        rows = len(prepared)
        if rows == 0:
            return sparse.csr_matrix((0, self.size))
        texts = pa.array(prepared, type=pa.large_string())
        pieces = pc.split_pattern_regex(texts, SEPARATORS)
        owners = pc.list_parent_indices(pieces).to_numpy()
        tokens = pc.utf8_trim(pc.list_flatten(pieces), "'")
        keep = pc.not_equal(tokens, "")
        tokens = pc.filter(tokens, keep)
        owners = owners[keep.to_numpy(zero_copy_only=False)]
        # Word pairs: each token with the next one of the same text.
        same = owners[1:] == owners[:-1]
        firsts = (
            pc.filter(tokens.slice(0, len(tokens) - 1), pa.array(same)) if len(tokens) > 1 else tokens[:0]
        )
        seconds = pc.filter(tokens.slice(1), pa.array(same)) if len(tokens) > 1 else tokens[:0]
        pairs = pc.binary_join_element_wise(firsts, seconds, pa.scalar(" ", pa.large_string()))
        grams = pa.concat_arrays([tokens, pairs])
        gram_owners = np.concatenate([owners, owners[:-1][same]])
        found = pc.index_in(grams, value_set=self.terms)
        known = found.is_valid().to_numpy(zero_copy_only=False)
        columns = found.to_numpy(zero_copy_only=False)[known].astype(np.int64)
        owners_known = gram_owners[known].astype(np.int64)
        keys, counts = np.unique(owners_known * self.size + columns, return_counts=True)
        row_of, column_of = keys // self.size, keys % self.size
        values = (1.0 + np.log(counts)) * self.idf[column_of]
        norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=rows))
        values /= np.where(norms > 0, norms, 1.0)[row_of]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=rows))])
        return sparse.csr_matrix((values, column_of, indptr), shape=(rows, self.size))
