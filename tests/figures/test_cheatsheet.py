"""The cheat sheet of notebook 09 (attnlib.figures.cheatsheet) and its shape exercises.

- every shape, mask and cost on the page is what attnlib (and PyTorch) compute now: the test
  recomputes them independently and finds them in the figure's text, and a library that returned
  another shape would stop the sheet from being drawn;
- the page is tidy (no text under 7 pt, off the margins or overlapping) and one A4 page;
- two exports give identical bytes, and the files shipped in cheatsheet/ are exactly what the
  code makes (byte for byte in the pinned environment, COURSE_PINNED=1 as `make test` sets it).

The two shape predictions (the notebook's exercises) are tested in tests/check/test_cheat_sheet_checks.py.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.image import imread
from matplotlib.text import Text

import attnlib as A
from attnlib.figures import cheatsheet as cs
from attnlib.reference import cost

PINNED = bool(os.environ.get("COURSE_PINNED"))
ROOT = Path(__file__).resolve().parents[2]
S = cs.SIZES


@pytest.fixture(scope="module")
def facts() -> cs.Facts:
    return cs.sheet_facts()


@pytest.fixture(scope="module")
def figure(facts):
    return cs.cheatsheet_figure(facts)


@pytest.fixture(scope="module")
def texts(figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    return {p.name: p for p in cs.export(tmp_path_factory.mktemp("sheet"))}


def on_sheet(texts: list[str], fragment: str) -> bool:
    return any(fragment in t for t in texts)


def fmt(spec: str, shape) -> str:
    """Return '(spec) = (shape)' written independently of cheatsheet.shape_text."""
    return "(" + ", ".join(spec.split()) + ") = (" + ", ".join(str(int(s)) for s in shape) + ")"


# =========================================================================== computed, not typed


def test_shape_text_checks_the_spec_against_the_shape():
    assert cs.shape_text(["b", "h", "n_q", "n_k"], (2, 8, 5, 7)) == "(b, h, n_q, n_k) = (2, 8, 5, 7)"
    assert cs.spec_text(["b", "1"], (2, 1)) == "(b, 1)"
    with pytest.raises(ValueError, match=r"\(b, h, n_k, n_q\) = \(2, 8, 7, 5\), but the library returned \(2, 8, 5, 7\)"):
        cs.shape_text(["b", "h", "n_k", "n_q"], (2, 8, 5, 7))
    with pytest.raises(ValueError, match="unknown size 'x'"):
        cs.shape_text(["x"], (3,))


def test_sizes_tell_the_axes_apart():
    # every array on the sheet has distinct sizes on its axes, so a swapped axis shows
    for spec in ("b h n_q n_k", "b h n d_head", "b h_kv n d_head", "b n_q d_model", "b n_k d_model", "b n_q d_k"):
        sizes = [S[s] for s in spec.split()]
        assert len(set(sizes)) == len(sizes), spec


def spec(symbols: str) -> str:
    """Return '(a, b, c)' for 'a b c', written independently of cheatsheet.spec_text."""
    return "(" + ", ".join(symbols.split()) + ")"


def test_sheet_shows_the_shapes_attnlib_returns(texts):
    b, h, h_kv, n, n_q, n_k, d, dh = (S[k] for k in ("b", "h", "h_kv", "n", "n_q", "n_k", "d_model", "d_head"))
    rng = np.random.default_rng(0)
    x_q, x_kv = rng.normal(size=(b, n_q, d)), rng.normal(size=(b, n_k, d))
    W = [rng.normal(size=(d, d)) for _ in range(4)]
    out_cross, w_cross = A.multi_head_attention(x_q, x_kv, *W, h)
    q, k = rng.normal(size=(b, n_q, S["d_k"])), rng.normal(size=(b, n_k, S["d_k"]))
    out_sdpa, w_sdpa = A.scaled_dot_product_attention(q, k, k)
    gq, gk = rng.normal(size=(b, h, n, dh)), rng.normal(size=(b, h_kv, n, dh))
    out_gqa, w_gqa = A.grouped_query_attention(gq, gk, gk)
    x = rng.normal(size=(b, n, d))
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        _, w_mean = mha(torch.from_numpy(x_q), torch.from_numpy(x_kv), torch.from_numpy(x_kv))
        _, w_heads = mha(torch.from_numpy(x_q), torch.from_numpy(x_kv), torch.from_numpy(x_kv), average_attn_weights=False)
    # each symbolic shape the sheet writes, with the array it describes: the symbols must give its shape
    written = [
        ("b n_q n_k", w_sdpa, True), ("b n_q d_k", out_sdpa, True),
        ("b h n d_head", A.split_heads(x, h), False),
        ("b h n_q n_k", w_cross, False), ("b n_q d_model", out_cross, False),
        ("b n_q n_k", w_mean, False), ("b h n_q n_k", w_heads, False),
        ("b h_kv n d_head", gk, False), ("b h n n", w_gqa, False), ("b h n d_head", out_gqa, False),
    ]
    for symbols, array, lead in written:
        assert tuple(S[s] for s in symbols.split()) == tuple(array.shape), symbols
        text = "(..., " + ", ".join(symbols.split()[1:]) + ")" if lead else spec(symbols)
        assert on_sheet(texts, text), f"{text} is not on the sheet"
    assert not any(re.search(r"\) = \(\d", t) for t in texts), "the page writes symbols, not example sizes"


def test_a_library_returning_another_shape_cannot_be_drawn(monkeypatch):
    real = A.multi_head_attention

    def transposed(*args, **kwargs):
        out, weights = real(*args, **kwargs)
        return out, np.swapaxes(weights, -1, -2)

    monkeypatch.setattr(cs, "multi_head_attention", transposed)
    with pytest.raises(ValueError, match="the library returned"):
        cs.sheet_facts()


def test_the_costs_on_the_sheet_come_from_attnlib_cost(texts, facts):
    M = cs.COST_MODEL
    L, h, d = M["n_layers"], M["n_heads"], M["head_dim"]
    assert facts.numbers["crossover"] == cost.attention_crossover_n(4096) / 4096 == 6
    assert facts.numbers["causal_crossover"] == 12
    assert on_sheet(texts, "n = 6\\,d$ (bidirectional)") and on_sheet(texts, "n \\approx 12\\,d$ (causal)")
    assert cs.human_bytes(cost.kv_cache_bytes(L, h, d, 1)) == "512 KiB" and on_sheet(texts, "512 KiB;")
    assert cs.human_bytes(cost.kv_cache_bytes(L, h, d, 4096)) == "2 GiB" and on_sheet(texts, "2 GiB at 4,096 tokens")
    assert cost.kv_cache_bytes(80, 8, 128, 1) == 320 * 1024 and on_sheet(texts, "320 KiB per token")
    assert on_sheet(texts, "attention $\\times4$, the rest $\\times2$, KV cache $\\times2$")
    # the table of notebook 09 still comes from attnlib.reference.cost and attnlib's masks
    n = M["n"]
    assert facts.numbers["flops_full"] == h * cost.attention_flops(n, d)
    window_pairs = M["window"] * (M["window"] + 1) // 2 + (n - M["window"]) * M["window"]
    assert facts.numbers["flops_window"] == 4 * d * h * window_pairs


def test_rope_and_the_online_softmax_are_checked_and_on_the_sheet(facts, texts):
    assert facts.rope == {"offset only": True, "pairings agree": True, "norms kept": True}
    assert facts.online
    assert on_sheet(texts, "depends on $r - p$ only (checked)") and on_sheet(texts, "never $n \\times n$ (checked)")


def test_every_trap_happens_and_its_fix_is_on_the_sheet(facts, texts):
    assert len(facts.traps) >= 6 and all(t.verified for t in facts.traps), [t.trap for t in facts.traps if not t.verified]
    for trap in facts.traps:
        assert on_sheet(texts, trap.trap) and on_sheet(texts, trap.fix)
    for word in ("repeat_interleave", "enable_gqa=True", "is_causal", "~mask", "scale=", ".transpose(1, 2)"):
        assert on_sheet(texts, word), word


def test_a_trap_that_no_longer_happens_is_flagged(monkeypatch):
    monkeypatch.setattr(cs, "split_heads", lambda x, h: np.reshape(x, (x.shape[0], h, x.shape[1], -1)))  # as if reshape were right
    traps = {t.trap[:9]: t for t in cs._traps()}
    assert not traps["x.reshape"].verified


def test_human_bytes():
    assert cs.human_bytes(512) == "512 bytes"
    assert cs.human_bytes(1536) == "1.5 KiB"
    assert cs.human_bytes(2 * 1024**3) == "2 GiB"
    assert cs.human_bytes(3 * 1024**5) == "3,072 TiB"


def test_the_conventions_are_found_by_experiment(facts, texts):
    means = {(api, arg): meaning for api, arg, meaning, _ in facts.conventions}
    assert means[("attnlib", "mask")] == "may attend"
    assert means[("F.scaled_dot_product_attention", "attn_mask")] == "may attend"
    assert means[("nn.MultiheadAttention", "attn_mask")] == "blocked"
    assert means[("nn.MultiheadAttention", "key_padding_mask")] == "blocked"
    assert means[("both torch APIs", "float mask")] == "added to scores"
    assert facts.conversion_checked and facts.agree_with_torch
    assert on_sheet(texts, "nn.MultiheadAttention: True = blocked")
    # the same facts, straight from PyTorch: a key_padding_mask True on key 0 takes key 0 away
    mha = torch.nn.MultiheadAttention(4, 1, batch_first=True)
    x = torch.randn(1, 3, 4)
    with torch.no_grad():
        _, w = mha(x, x, x, key_padding_mask=torch.tensor([[True, False, False]]))
    assert torch.all(w[..., 0] == 0)


def test_a_fully_blocked_row(facts, texts):
    assert facts.blocked_row == {"attnlib": "zeros", "attnlib_out": "zeros", "torch": "zeros", "plain": "NaN", "mha_weights": "NaN"}
    assert on_sheet(texts, "zeros in attnlib and F.sdpa (torch 2.5+), NaN in a plain softmax")


def test_mask_pictures_are_attnlib_masks(facts, texts):
    n, w, lengths = cs.MASK_N, cs.MASK_WINDOW, list(cs.MASK_LENGTHS)
    pictures = {title: mask for title, _, _, mask in facts.masks}
    np.testing.assert_array_equal(pictures[f"causal_mask({n})"], A.causal_mask(n))
    np.testing.assert_array_equal(pictures[f"window {w}"], A.sliding_window_mask(n, w))
    np.testing.assert_array_equal(pictures["padding_mask"], A.padding_attention_mask(lengths, n)[1])
    np.testing.assert_array_equal(pictures["causal & padding"], A.causal_mask(n) & A.padding_attention_mask(lengths, n)[1])
    assert on_sheet(texts, f"j <= i: {n * (n + 1) // 2}/{n * n}")
    # the padding panel says what it draws: padding_mask is (b, n); the picture is one sequence's (n_q, n_k) mask
    assert A.padding_mask(lengths, n).shape == (len(lengths), n)
    assert on_sheet(texts, f"padding_mask({lengths}, {n}) is (b, n), drawn for one sequence as (n_q, n_k)")


# =========================================================================== one tidy page


def test_the_page_is_tidy(figure, texts):
    assert cs.layout_problems(figure) == []
    assert tuple(figure.get_size_inches()) == pytest.approx(cs.PAGE)
    assert min(t.get_fontsize() for t in figure.findobj(Text) if t.get_text()) >= cs.MIN_FONT
    assert on_sheet(texts, "python -m attnlib cheatsheet")


def test_layout_problems_finds_overlaps_and_margins():
    fig = cs.cheatsheet_figure(check_layout=False)
    fig.text(0.5, 0.5, "an intruder " * 3, fontsize=12)
    fig.text(0.999, 0.5, "off the page", fontsize=8)
    fig.text(0.5, 0.6, "tiny", fontsize=5)
    problems = "\n".join(cs.layout_problems(fig))
    assert "an intruder" in problems and "overlaps" in problems
    assert "'off the page' runs into the page's margin" in problems
    assert "5.0 pt" in problems


def test_export_is_deterministic(tmp_path, exported):
    again = cs.export(tmp_path)
    for path in again:
        assert path.read_bytes() == exported[path.name].read_bytes(), f"{path.name} differs between two exports"


def test_the_pdf_is_one_a4_landscape_page(exported):
    pdf = exported["cheatsheet.pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", pdf).group(1).split()]
    assert box == pytest.approx([0, 0, cs.PAGE[0] * 72, cs.PAGE[1] * 72])
    for stamp in (b"CreationDate", b"ModDate", b"Matplotlib v"):
        assert stamp not in pdf, f"the PDF carries {stamp!r}, which changes from run to run or version to version"


def test_the_png_is_the_page_at_its_dpi(exported):
    png = exported["cheatsheet.png"].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"tEXt" not in png
    image = imread(exported["cheatsheet.png"])
    assert image.shape[:2] == (int(cs.PAGE[1] * cs.DPI_PNG), int(cs.PAGE[0] * cs.DPI_PNG))
    assert image[..., :3].min() < 0.1 and image[0, 0, :3].tolist() == [1.0, 1.0, 1.0]  # ink on a white page


def _pinned_matplotlib() -> str:
    line = next(l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.startswith("matplotlib=="))
    return line.split("==")[1].strip()


@pytest.mark.parametrize("name", cs.FILES)
def test_the_shipped_file_is_what_the_code_makes(name, exported):
    shipped = ROOT / "cheatsheet" / name
    assert shipped.is_file(), f"cheatsheet/{name} is missing: run `python -m attnlib cheatsheet`"
    made = exported[name]
    regenerate = f"cheatsheet/{name} is not what attnlib.figures.cheatsheet makes now: run `python -m attnlib cheatsheet` and commit it"
    if PINNED:
        # compare digests: pytest's diff of two large byte strings takes minutes
        same = hashlib.sha256(shipped.read_bytes()).hexdigest() == hashlib.sha256(made.read_bytes()).hexdigest()
        assert same, (regenerate + " (if attnlib did not change, suspect the fonts: matplotlib's font cache in "
                      "~/.cache/matplotlib may list fonts that are gone; delete it and run again)")
        return
    # another environment: the same page, and (with the pinned matplotlib) the same picture
    if name.endswith(".pdf"):
        for pdf in (shipped.read_bytes(), made.read_bytes()):
            assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
        return
    a, b = imread(shipped)[..., :3], imread(made)[..., :3]
    assert a.shape == b.shape, regenerate
    if metadata.version("matplotlib") != _pinned_matplotlib():
        pytest.skip(f"matplotlib {metadata.version('matplotlib')} draws text its own way; the pixels are compared with {_pinned_matplotlib()}")
    assert np.abs(a - b).mean() < 0.01, regenerate


def test_shipped_dir_is_found_from_a_notebook_folder(tmp_path):
    assert cs.shipped_dir(ROOT / "solutions") == ROOT / "cheatsheet"
    assert cs.shipped_dir(tmp_path) == ROOT / "cheatsheet"  # falls back to the package's clone


def test_the_command_regenerates_the_files(tmp_path, exported):
    run = subprocess.run([sys.executable, "-m", "attnlib", "cheatsheet", "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    for name in cs.FILES:
        assert (tmp_path / name).read_bytes() == exported[name].read_bytes()
    assert "wrote" in run.stdout


def test_drawing_leaves_matplotlib_settings_alone(facts):
    before = dict(matplotlib.rcParams)
    cs.cheatsheet_figure(facts)
    assert dict(matplotlib.rcParams) == before


def test_drawing_leaves_torch_random_state_alone(facts):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cs.sheet_facts()
    assert torch.equal(torch.rand(3), expected)


def test_the_page_uses_only_matplotlibs_own_fonts(figure):
    # system fonts differ from machine to machine; matplotlib's bundled ones come with the pinned version
    from matplotlib import font_manager

    own = Path(matplotlib.get_data_path()).resolve()
    used = {font_manager.findfont(t.get_fontproperties(), fallback_to_default=False) for t in figure.findobj(Text) if t.get_text()}
    assert used and all(Path(f).resolve().is_relative_to(own) for f in used), used
