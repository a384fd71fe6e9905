"""Hand-set multi-head attention weights whose heads visibly specialise (notebook 06).

The weights are set by hand, not trained, so that each head's job can be read off its matrices.
Tokens are embedded as one-hot features: which word (one feature per word of the vocabulary)
and where (one feature per position). Three heads then read three different things:

- head 0, **previous token**: the query of position p matches the key of position p - 1 (the
  first token, with nothing before it, reads itself); its value carries the word;
- head 1, **same token**: a query matches the key of every occurrence of its own word (itself
  included); its value carries the position, so the output says where the word occurs;
- head 2, **keyword**: every query matches the key of one chosen word, wherever it stands; its
  value carries the word.

``W_o`` is the identity, so the output of a token is the concatenation of the three heads'
outputs, block by block, and can be read directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..reference.validate import positive_number

#: what each head of ``hand_set_heads`` looks for, in head order
HEAD_NAMES = ("previous token", "same token", "keyword")


@dataclass(frozen=True)
class HandSetHeads:
    """A toy sentence embedded as one-hot features and the hand-set weights of three heads.

    x: (n, d_model) embeddings; W_q, W_k, W_v, W_o: (d_model, d_model), applied as x @ W;
    d_model = n_heads * d_head. Features 0 .. V-1 of x are the word's one-hot (over ``vocab``),
    features V .. V+n-1 the position's one-hot; the rest are zero.
    """

    tokens: tuple[str, ...]
    vocab: tuple[str, ...]
    keyword: str
    x: np.ndarray
    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    W_o: np.ndarray
    n_heads: int
    d_head: int

    @property
    def d_model(self) -> int:
        """Return the model width n_heads * d_head."""
        return self.n_heads * self.d_head

    def head_columns(self, head: int) -> slice:
        """Return the columns of W_q, W_k, W_v (and rows of W_o) that belong to ``head``."""
        if not 0 <= head < self.n_heads:
            raise ValueError(f"head must lie in 0 .. {self.n_heads - 1}, got {head}")
        return slice(head * self.d_head, (head + 1) * self.d_head)


def hand_set_heads(tokens: Sequence[str], keyword: str, sharpness: float = 6.0) -> HandSetHeads:
    """Return the one-hot embeddings (n, d_model) of ``tokens`` and three hand-set heads' weights.

    tokens: the sentence, one word per token (n of them, V distinct); keyword: the word head 2
    looks for (it must occur in the sentence). d_head = max(n, V), d_model = 3 * d_head.
    sharpness: how much higher a matching key scores than any other after the 1/sqrt(d_head)
    scale (the gain of the queries is sharpness * sqrt(d_head)); about 6 gives nearly one-hot
    rows, about 1 gives diffuse ones.
    """
    tokens = tuple(tokens)
    if not tokens or not all(isinstance(t, str) and t for t in tokens):
        raise ValueError(f"tokens must be a non-empty sequence of non-empty strings, got {tokens!r}")
    if keyword not in tokens:
        raise ValueError(f"keyword {keyword!r} does not occur in the sentence {' '.join(tokens)!r}")
    sharpness = float(positive_number("sharpness", sharpness))
    vocab = tuple(dict.fromkeys(tokens))  # distinct words, in order of first appearance
    n, n_vocab, n_heads = len(tokens), len(vocab), len(HEAD_NAMES)
    d_head = max(n, n_vocab)
    d_model = n_heads * d_head
    word = {w: i for i, w in enumerate(vocab)}

    def word_row(w: str) -> int:  # the feature of x that says "this token is w"
        return word[w]

    def position_row(p: int) -> int:  # the feature of x that says "this token stands at p"
        return n_vocab + p

    x = np.zeros((n, d_model))
    for p, t in enumerate(tokens):
        x[p, word_row(t)] = 1.0
        x[p, position_row(p)] = 1.0

    gain = sharpness * np.sqrt(d_head)
    W_q, W_k, W_v = (np.zeros((d_model, d_model)) for _ in range(3))
    prev, same, key = (h * d_head for h in range(n_heads))  # first column of each head

    # head 0, previous token: query of p = gain * e_p, key of j = e_{j+1} (and e_0 for j = 0)
    for p in range(n):
        W_q[position_row(p), prev + p] = gain
        if p + 1 < n:
            W_k[position_row(p), prev + p + 1] = 1.0
    W_k[position_row(0), prev + 0] = 1.0  # the first token has no previous one: it reads itself
    for w in vocab:
        W_v[word_row(w), prev + word[w]] = 1.0  # carries the word

    # head 1, same token: query and key both the word's one-hot; the value carries the position
    for w in vocab:
        W_q[word_row(w), same + word[w]] = gain
        W_k[word_row(w), same + word[w]] = 1.0
    for p in range(n):
        W_v[position_row(p), same + p] = 1.0

    # head 2, keyword: every position asks for the keyword (a constant query), only it answers
    for p in range(n):
        W_q[position_row(p), key] = gain
    W_k[word_row(keyword), key] = 1.0
    for w in vocab:
        W_v[word_row(w), key + word[w]] = 1.0  # carries the word

    return HandSetHeads(tokens, vocab, keyword, x, W_q, W_k, W_v, np.eye(d_model), n_heads, d_head)
