"""The task notebook 11 trains on, the training itself, and how its heads are read and ablated.

**The task: continue a repeated segment.** Each sequence of ``n_ctx`` tokens is a segment of L
distinct random tokens repeated until the sequence is full (L varies from sequence to sequence,
from 3 to 10). From the second copy on, the next token is always knowable, but only by looking
back: find where the current token occurred before and read the token that followed it there.
In the first copy the next token is random. A model without
attention cannot do better than chance anywhere; one with attention can learn the two-step circuit
called an **induction head** (Olsson et al., 2022): a head that writes "the token before me was
x" into each position (a previous-token head, layer 0), and a head that looks for the position
whose previous token is the current one and copies what it finds there (layer 1). Because L and
no fixed offset solves the task: the model must match content.

``train`` is deterministic on one machine (seeded data and initial weights). The shipped
weights (``TRAINED_WEIGHTS``) are what ``train(Config(), **TRAIN)`` makes; a test retrains
and compares them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .transformer import Config, TinyGPT

#: where the trained model's weights ship (attnlib/models/data), and the training that makes them
TRAINED_WEIGHTS = Path(__file__).resolve().parent / "data" / "induction_gpt.pt"
TRAIN = dict(steps=300, batch_size=32, lr=5e-3, seed=0)
SEGMENT = (3, 10)  # shortest and longest repeated segment


@dataclass
class Batch:
    """tokens (B, n_ctx); predictable (B, n_ctx - 1): True where the next token is knowable by looking back."""

    tokens: torch.Tensor
    predictable: torch.Tensor
    starts: torch.Tensor   # (B,) where the first copy of the segment begins
    lengths: torch.Tensor  # (B,) the segment's length L


def repeat_batch(batch_size: int, cfg: Config, generator: torch.Generator, segment: tuple[int, int] = SEGMENT) -> Batch:
    """Return a Batch of sequences: a segment of L distinct random tokens, repeated until n_ctx tokens."""
    lo, hi = segment
    n = cfg.n_ctx
    if not 2 <= lo <= hi or 2 * hi > n or hi > cfg.vocab_size:
        raise ValueError(f"segment lengths {segment} must fit twice in n_ctx={n}, with at most {cfg.vocab_size} distinct tokens")
    lengths = torch.randint(lo, hi + 1, (batch_size,), generator=generator)
    order = torch.rand(batch_size, cfg.vocab_size, generator=generator).argsort(dim=-1)   # a random permutation per row
    positions = torch.arange(n)
    tokens = order.gather(1, positions[None, :] % lengths[:, None])              # (B, n): segment, segment, ...
    predictable = positions[None, :-1] >= lengths[:, None]                      # (B, n-1): from the second copy on
    return Batch(tokens, predictable, torch.zeros(batch_size, dtype=torch.long), lengths)


@dataclass
class TrainLog:
    """What train() returns: per block of ``every`` steps, the mean loss and the accuracy on predictable targets."""

    steps: list[int]
    losses: list[float]
    accuracy: list[float]
    seconds: float


def train(cfg: Config, steps: int, batch_size: int, lr: float, seed: int, every: int = 25) -> tuple[TinyGPT, TrainLog]:
    """Return (model, log): a TinyGPT trained with AdamW on repeat_batch data, from seed ``seed``.

    The loss is the cross-entropy of next-token prediction at every position. The learning rate
    warms up over the first 10% of the steps and decays linearly to zero.
    """
    if steps < 1 or batch_size < 1 or every < 1:
        raise ValueError(f"need steps, batch_size and every >= 1, got {steps}, {batch_size}, {every}")
    torch.manual_seed(seed)
    model = TinyGPT(cfg)
    data = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min((s + 1) / warm, (steps - s) / (steps - warm + 1)))
    log, losses, right, total = TrainLog([], [], [], 0.0), [], 0, 0
    start = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        batch = repeat_batch(batch_size, cfg, data)
        logits, _ = model(batch.tokens[:, :-1])                                  # (B, n-1, V)
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), batch.tokens[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        hits = (logits.argmax(-1) == batch.tokens[:, 1:]) & batch.predictable
        right, total = right + int(hits.sum()), total + int(batch.predictable.sum())
        if step % every == 0:
            log.steps.append(step)
            log.losses.append(float(np.mean(losses)))
            log.accuracy.append(right / max(total, 1))
            losses, right, total = [], 0, 0
    log.seconds = time.perf_counter() - start
    model.eval()
    return model, log


def load_trained(path: Path = TRAINED_WEIGHTS) -> TinyGPT:
    """Return the shipped TinyGPT (Config() sizes) with the weights ``train(Config(), **TRAIN)`` made."""
    model = TinyGPT(Config())
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


@torch.no_grad()
def accuracy(model: TinyGPT, batch: Batch, ablate: set[tuple[int, int]] = frozenset()) -> dict[str, float]:
    """Return the next-token accuracy on predictable targets and on the others ("random")."""
    logits, _ = model(batch.tokens[:, :-1], ablate=ablate)
    hits = logits.argmax(-1) == batch.tokens[:, 1:]
    return {"predictable": float(hits[batch.predictable].float().mean()),
            "random": float(hits[~batch.predictable].float().mean())}


@torch.no_grad()
def head_scores(model: TinyGPT, batch: Batch) -> dict[str, np.ndarray]:
    """Return, per pattern, a (n_layers, n_heads) array: the mean weight each head puts where the pattern says.

    - "previous token": from each position i >= 1 on position i - 1;
    - "induction": from each position of a repeat on the positions just after the same token's
      earlier occurrences, L, 2L, ... back (the tokens to copy);
    - "first token": on position 0 (an attention "sink");
    - "diagonal": from each position on itself.
    """
    _, weights = model(batch.tokens)
    w = torch.stack(weights, dim=1)                                              # (B, layers, h, n, n)
    B, _, _, n, _ = w.shape
    rows = torch.arange(n)
    scores = {
        "previous token": w[..., rows[1:], rows[:-1]].mean(dim=(0, -1)),
        "first token": w[..., :, 0].mean(dim=(0, -1)),
        "diagonal": w[..., rows, rows].mean(dim=(0, -1)),
    }
    induction = []
    for b in range(B):
        L = int(batch.lengths[b])
        later = torch.arange(L, n)                                               # positions whose token occurred before
        total = torch.zeros(w.shape[1:3])
        for back in range(L, n, L):                                              # every earlier occurrence, L, 2L, ... back
            keep = later - back >= 0
            total += w[b][..., later[keep], later[keep] - back + 1].sum(dim=-1)  # on the token after it
        induction.append(total / len(later))                                     # (layers, h)
    scores["induction"] = torch.stack(induction).mean(dim=0)
    return {name: value.numpy() for name, value in scores.items()}


def save_trained(path: Path = TRAINED_WEIGHTS) -> Path:
    """Train ``Config()`` with ``TRAIN`` on one thread and write its weights to ``path``; return the path."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, _ = train(Config(), **TRAIN)
    finally:
        torch.set_num_threads(threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


if __name__ == "__main__":  # python -m attnlib weights (or -m attnlib.models.induction): make the shipped weights again
    print(f"wrote {save_trained()}")


@torch.no_grad()
def time_next_token(model: TinyGPT, prefixes: list[int], use_cache: bool, repeats: int = 5, seed: int = 0) -> np.ndarray:
    """Return the seconds (len(prefixes),) to compute the next token's logits after t tokens, for each t.

    With the cache the t tokens are prefilled first (not timed) and one new token runs alone;
    without it all t + 1 tokens run again. The fastest of ``repeats`` calls counts.
    """
    from .transformer import KVCache

    if not prefixes or min(prefixes) < 1 or repeats < 1:
        raise ValueError(f"need prefixes of at least 1 token and repeats >= 1, got {prefixes}, {repeats}")
    gen = torch.Generator().manual_seed(seed)
    seconds = []
    for t in prefixes:
        tokens = torch.randint(0, model.cfg.vocab_size, (1, t + 1), generator=gen)
        best = float("inf")
        for _ in range(repeats):
            if use_cache:
                cache = KVCache(model.cfg.n_layers)
                model(tokens[:, :t], cache)                                      # prefill, not timed
                start = time.perf_counter()
                model(tokens[:, t:], cache)                                      # one new token
            else:
                start = time.perf_counter()
                model(tokens)                                                    # every token again
            best = min(best, time.perf_counter() - start)
        seconds.append(best)
    return np.array(seconds)
