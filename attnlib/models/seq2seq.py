"""Two tiny GRU encoder-decoders that differ in one thing: the context vector the decoder reads.

Notebook 02 trains both on the same synthetic task, reversing a random sequence of symbols:

- ``attention=False``: at every step the decoder reads the same fixed-size summary of the
  whole input (the idea of the "RNN encoder-decoder" of Cho et al., 2014, RNNencdec in Bahdanau
  et al., here with the same bidirectional encoder as the attention model);
- ``attention=True``: at every step the decoder scores every encoder state against its previous
  state with a small feed-forward net (additive attention), turns the scores into weights with
  a softmax and mixes the states into a fresh context vector (Bahdanau et al., 2015: RNNsearch).

Everything else is shared: the encoder (a bidirectional GRU, as in Bahdanau et al.), the decoder,
their sizes, their initial weights, the data, the optimiser and the number of steps.
Shapes: B batch, n input length, m output length, d decoder size, 2d encoder state size,
V number of symbols.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ the task


def reversal_batch(batch_size: int, length: int, n_symbols: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (src, tgt): src (B, n) random symbols in [0, n_symbols), tgt (B, n) each row reversed."""
    if batch_size < 1 or length < 1 or n_symbols < 2:
        raise ValueError(f"need batch_size >= 1, length >= 1 and n_symbols >= 2, got {batch_size}, {length}, {n_symbols}")
    src = torch.randint(0, n_symbols, (batch_size, length), generator=generator)
    return src, src.flip(1)


# ------------------------------------------------------------------ the models


class Seq2Seq(nn.Module):
    """A bidirectional GRU encoder and a GRU decoder; ``attention`` picks the decoder's context."""

    def __init__(self, n_symbols: int = 10, d_embed: int = 16, d_hidden: int = 32, d_attn: int = 32, attention: bool = True):
        super().__init__()
        if min(d_embed, d_hidden, d_attn) < 1 or n_symbols < 2:
            raise ValueError(f"need n_symbols >= 2 and positive sizes, got {n_symbols=}, {d_embed=}, {d_hidden=}, {d_attn=}")
        self.n_symbols, self.attention = n_symbols, attention
        self.bos = n_symbols                                           # "begin" symbol fed to the first decoder step
        d_enc = 2 * d_hidden                                           # an encoder state: forward and backward halves
        self.embed_src = nn.Embedding(n_symbols, d_embed)
        self.embed_tgt = nn.Embedding(n_symbols + 1, d_embed)          # + the begin symbol
        self.encoder = nn.GRU(d_embed, d_hidden, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(d_enc, d_hidden)                   # s_0 = tanh(W summary)
        self.decoder = nn.GRUCell(d_embed + d_enc, d_hidden)           # reads [previous symbol, context]
        self.readout = nn.Linear(d_hidden + d_enc, n_symbols)          # predicts from [decoder state, context]
        if attention:  # created last, so the shared parts start from the same weights in both models
            self.W_s = nn.Linear(d_hidden, d_attn, bias=False)         # projects the previous decoder state
            self.W_h = nn.Linear(d_enc, d_attn)                        # projects each encoder state
            self.v = nn.Linear(d_attn, 1, bias=False)                  # score_j = v . tanh(W_s s + W_h h_j)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (H, summary): the encoder states H (B, n, 2d) and the fixed-size summary (B, 2d).

        The summary is what a fixed-vector model keeps of the input: the forward GRU's last state
        (it has read the whole input left to right) beside the backward GRU's (right to left).
        """
        H, _ = self.encoder(self.embed_src(src))                       # (B, n, 2d)
        d = H.shape[-1] // 2
        summary = torch.cat([H[:, -1, :d], H[:, 0, d:]], dim=-1)       # (B, 2d)
        return H, summary

    def initial_state(self, summary: torch.Tensor) -> torch.Tensor:
        """Return the decoder's first state s_0 = tanh(W summary): (B, d), for summary (B, 2d)."""
        return torch.tanh(self.init_state(summary))

    def scores(self, s_prev: torch.Tensor, H_proj: torch.Tensor) -> torch.Tensor:
        """Return the additive scores (B, n) of the encoder states, H_proj = W_h H (B, n, d_attn), for s_prev (B, d)."""
        return self.v(torch.tanh(self.W_s(s_prev)[:, None, :] + H_proj)).squeeze(-1)

    def context(self, s_prev: torch.Tensor, H: torch.Tensor, H_proj: torch.Tensor | None, summary: torch.Tensor):
        """Return (context (B, 2d), weights (B, n) or None) for one decoder step with previous state s_prev (B, d)."""
        if not self.attention:
            return summary, None                                       # the same fixed vector at every step
        weights = torch.softmax(self.scores(s_prev, H_proj), dim=-1)   # (B, n), each row sums to 1
        context = (weights[:, :, None] * H).sum(dim=1)                 # (B, 2d): attnlib.context_vector in torch
        return context, weights

    def forward(self, src: torch.Tensor, tgt: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (logits (B, m, V), weights (B, m, n) or None) for src (B, n).

        With tgt (B, m) the decoder is fed the right previous symbol (teacher forcing, for
        training); without it, its own best guess (greedy decoding) for m = n steps.
        """
        if src.ndim != 2 or (tgt is not None and (tgt.ndim != 2 or tgt.shape[0] != src.shape[0])):
            got = f"src {tuple(src.shape)}" + (f", tgt {tuple(tgt.shape)}" if tgt is not None else "")
            raise ValueError(f"src must be (B, n) and tgt (B, m) with the same batch size B, got {got}")
        H, summary = self.encode(src)
        H_proj = self.W_h(H) if self.attention else None               # (B, n, d_attn), once for all steps
        s = self.initial_state(summary)                                # (B, d): both decoders start from the summary
        prev = torch.full((src.shape[0],), self.bos, dtype=torch.long)
        all_logits, all_weights = [], []
        for t in range(tgt.shape[1] if tgt is not None else src.shape[1]):
            c, weights = self.context(s, H, H_proj, summary)           # (B, 2d): the only difference
            s = self.decoder(torch.cat([self.embed_tgt(prev), c], dim=-1), s)
            logits = self.readout(torch.cat([s, c], dim=-1))          # (B, V)
            all_logits.append(logits)
            all_weights.append(weights)
            prev = tgt[:, t] if tgt is not None else logits.argmax(dim=-1)
        weights = torch.stack(all_weights, dim=1) if self.attention else None
        return torch.stack(all_logits, dim=1), weights


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters of model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------ training and evaluation


@dataclass
class TrainLog:
    """What train() returns: the mean training loss over each block of ``every`` steps."""

    steps: list[int]
    losses: list[float]


def train(model: Seq2Seq, steps: int, lengths: tuple[int, int], batch_size: int = 128, lr: float = 1e-2, seed: int = 0, every: int = 100) -> TrainLog:
    """Train model in place on random reversal batches and return its loss log.

    Each batch has one length drawn uniformly from lengths = (shortest, longest), so no padding
    is needed. Adam, learning rate decaying linearly to 0, gradients clipped at norm 1. The data
    come from a torch.Generator seeded with ``seed``: two models trained with the same seed see
    exactly the same batches.
    """
    shortest, longest = lengths
    if not 1 <= shortest <= longest or steps < 1 or every < 1:
        raise ValueError(f"need lengths (shortest, longest) with 1 <= shortest <= longest, steps >= 1, every >= 1; got {lengths}, {steps}, {every}")
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    log, running = TrainLog([], []), 0.0
    model.train()
    for step in range(1, steps + 1):
        n = int(torch.randint(shortest, longest + 1, (1,), generator=gen))
        src, tgt = reversal_batch(batch_size, n, model.n_symbols, gen)
        logits, _ = model(src, tgt)
        loss = F.cross_entropy(logits.reshape(-1, model.n_symbols), tgt.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        running += loss.item()
        if step % every == 0:
            log.steps.append(step)
            log.losses.append(running / every)
            running = 0.0
    model.eval()
    return log


@torch.no_grad()
def accuracy_by_length(model: Seq2Seq, lengths, n_per_length: int = 200, seed: int = 1234) -> dict[str, np.ndarray]:
    """Return the accuracy of greedy decoding on fresh random sequences of each length.

    Keys: "length" (L,); "token" (L,) the fraction of output symbols right; "sequence" (L,) the
    fraction of sequences entirely right; "position" (L, longest) the accuracy at each output
    position (NaN past the end of a length). The test data use their own seed, never a training batch's.
    """
    lengths = [int(n) for n in lengths]
    if not lengths or min(lengths) < 1:
        raise ValueError(f"lengths must be a non-empty list of positive lengths, got {lengths}")
    gen = torch.Generator().manual_seed(seed)
    token, sequence = [], []
    position = np.full((len(lengths), max(lengths)), np.nan)
    for i, n in enumerate(lengths):
        src, tgt = reversal_batch(n_per_length, n, model.n_symbols, gen)
        logits, _ = model(src)
        right = (logits.argmax(dim=-1) == tgt).double()               # (B, n)
        token.append(right.mean().item())
        sequence.append(right.min(dim=1).values.mean().item())
        position[i, :n] = right.mean(dim=0).numpy()
    return {"length": np.array(lengths), "token": np.array(token), "sequence": np.array(sequence), "position": position}


@torch.no_grad()
def accuracy_by_position(model: Seq2Seq, length: int, n_sequences: int = 200, seed: int = 99, teacher_forcing: bool = False) -> np.ndarray:
    """Return the accuracy (length,) at each output position on fresh sequences of one length.

    With ``teacher_forcing`` the decoder is fed the right previous symbol at every step, as in
    training, so a mistake at one step cannot cause mistakes at the next; without it, it is fed
    its own previous guess (greedy decoding), as in ``accuracy_by_length``.
    """
    if length < 1 or n_sequences < 1:
        raise ValueError(f"need length >= 1 and n_sequences >= 1, got {length}, {n_sequences}")
    src, tgt = reversal_batch(n_sequences, length, model.n_symbols, torch.Generator().manual_seed(seed))
    logits, _ = model(src, tgt if teacher_forcing else None)
    return (logits.argmax(dim=-1) == tgt).double().mean(dim=0).numpy()
