"""row_logsumexp and the losses built on it against slow loop references: values and gradients.

The fast paths differ by anchor set (all rows use the symmetric one-GEMM backward; a row slice,
as one rank of a distributed batch holds, uses the general two-GEMM backward), by storage (dense
keeps exp(S − 1/t); chunked recomputes) and by underflow (rows recomputed with their own
maximum). Each test runs with the default cache blocks and with 16-row blocks, so that block
boundaries fall inside these small matrices.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from infoclr.functional import _lse, cl_info_nce, nt_xent, row_logsumexp, sup_con


@pytest.fixture(params=["default-blocks", "16-row-blocks"])
def blocks(request, monkeypatch) -> str:
    if request.param == "16-row-blocks":
        monkeypatch.setattr(_lse, "_BLOCK_BYTES", 1)
        monkeypatch.setattr(_lse, "_MIN_BLOCK_ROWS", 16)
    return request.param


def reference_lse(z: torch.Tensor, t: float, start: int, stop: int) -> torch.Tensor:
    """(stop−start,) log Σ_{b≠a} exp(z_a·z_b/t), one anchor and one dot product at a time."""
    out = []
    for a in range(start, stop):
        logits = torch.stack([z[a] @ z[b] for b in range(z.shape[0]) if b != a]) / t
        out.append(torch.logsumexp(logits, dim=0))
    return torch.stack(out)


def reference_sup_con(features: torch.Tensor, ids: torch.Tensor, t: float) -> torch.Tensor:
    """SupCon L_out as Khosla et al. write it, anchor by anchor, differentiable."""
    z = F.normalize(features, dim=1)
    n = z.shape[0]
    terms = []
    for a in range(n):
        positives = [p for p in range(n) if p != a and ids[p] == ids[a]]
        if not positives:
            continue
        denom = torch.logsumexp(torch.stack([z[a] @ z[b] / t for b in range(n) if b != a]), 0)
        terms.append(-torch.stack([z[a] @ z[p] / t - denom for p in positives]).mean())
    return torch.stack(terms).mean()


def reference_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    b = z1.shape[0]
    return reference_sup_con(torch.cat([z1, z2]), torch.cat([torch.arange(b)] * 2), t)


def _values_and_grad(fn, x: torch.Tensor, weights: torch.Tensor) -> tuple:
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    (out * weights).sum().backward()
    return out.detach(), x.grad


def _unit_rows(n: int, d: int, dtype=torch.float64) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, dtype=dtype), dim=1)


@pytest.mark.parametrize("chunk", [None, 1, 5, 16, 100])
@pytest.mark.parametrize("span", [(0, None), (0, 17), (3, 29), (20, None), (36, 37)])
def test_row_logsumexp_matches_loop_reference_float64(blocks, chunk, span) -> None:
    n, t = 37, 0.3
    start, stop = span[0], span[1] if span[1] is not None else n
    z = _unit_rows(n, 6)
    g = torch.randn(stop - start, dtype=torch.float64)
    expected, expected_grad = _values_and_grad(lambda x: reference_lse(x, t, start, stop), z, g)
    got, grad = _values_and_grad(lambda x: row_logsumexp(x, t, start, span[1], chunk), z, g)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk", [None, 7])
@pytest.mark.parametrize("span", [(0, None), (5, 40)])
def test_row_logsumexp_float32_within_1e5_of_float64_reference(blocks, chunk, span) -> None:
    n, t = 53, 0.1
    start, stop = span[0], span[1] if span[1] is not None else n
    z = _unit_rows(n, 16)
    g = torch.rand(stop - start, dtype=torch.float64)
    expected, expected_grad = _values_and_grad(lambda x: reference_lse(x, t, start, stop), z, g)
    got, grad = _values_and_grad(
        lambda x: row_logsumexp(x, t, start, span[1], chunk), z.float(), g.float()
    )
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad.double(), expected_grad, rtol=1e-5, atol=1e-5)


def _with_loners(n: int, d: int) -> torch.Tensor:
    """Rows in a few tight clusters, plus rows orthogonal to everything else.

    At t = 0.01 a loner's best logit is 1/t = 100 nats below the constant shift, so its shifted
    sum underflows float32 and it must be recomputed exactly; the clustered rows must not be.
    """
    centres = F.normalize(torch.randn(3, d - 2), dim=1)
    z = centres[torch.arange(n) % 3] + 0.2 * torch.randn(n, d - 2)
    z = torch.cat([z, torch.zeros(n, 2)], dim=1)
    z[4] = torch.tensor([0.0] * (d - 2) + [1.0, 0.0])
    z[n - 2] = torch.tensor([0.0] * (d - 2) + [0.0, 1.0])
    return F.normalize(z, dim=1)


@pytest.mark.parametrize("t", [0.01, 0.005])
@pytest.mark.parametrize("chunk", [None, 6])
@pytest.mark.parametrize("span", [(0, None), (2, 30), (10, None)])
def test_underflowing_rows_are_exact_in_float32(blocks, t, chunk, span) -> None:
    n = 41
    start, stop = span[0], span[1] if span[1] is not None else n
    z = _with_loners(n, 10)
    g = torch.rand(stop - start, dtype=torch.float64) + 0.5
    expected, expected_grad = _values_and_grad(
        lambda x: reference_lse(x, t, start, stop), z.double(), g
    )
    got, grad = _values_and_grad(lambda x: row_logsumexp(x, t, start, span[1], chunk), z, g.float())
    assert torch.isfinite(got).all() and torch.isfinite(grad).all()
    # Values are ~1/t = 100-200 in size; float32 holds them to ~1e-5 relative.
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(grad.double(), expected_grad, rtol=1e-4, atol=1e-3 / t)


@pytest.mark.parametrize("t", [1 / 50, 1 / 51, 0.03])
@pytest.mark.parametrize("chunk", [None, 8])
@pytest.mark.parametrize("span", [(0, None), (3, 17)])
def test_either_side_of_the_unshifted_limit(blocks, t, chunk, span) -> None:
    # Down to t = 1/50 exp(s/t) is used unshifted, below it exp(s/t − 1/t). Identical rows
    # (s = 1) give the largest terms, opposite ones (s = −1) the smallest.
    base = F.normalize(torch.randn(3, 8, dtype=torch.float64), dim=1)
    z = torch.cat([base[:1].repeat(10, 1), -base[:1].repeat(5, 1), base[1:].repeat(3, 1)])
    start, stop = span[0], span[1] if span[1] is not None else z.shape[0]
    g = torch.rand(stop - start, dtype=torch.float64)
    expected, expected_grad = _values_and_grad(lambda x: reference_lse(x, t, start, stop), z, g)
    got, grad = _values_and_grad(
        lambda x: row_logsumexp(x, t, start, span[1], chunk), z.float(), g.float()
    )
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(grad.double(), expected_grad, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("chunk", [None, 5])
@pytest.mark.parametrize("span", [(0, None), (4, 19)])
def test_gradcheck_float64_across_blocks(blocks, chunk, span) -> None:
    x = torch.randn(35, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f: row_logsumexp(F.normalize(f, dim=1), 0.4, span[0], span[1], chunk), (x,)
    )


@pytest.mark.parametrize("chunk", [None, 8])
@pytest.mark.parametrize("span", [(0, None), (3, 20)])
def test_second_backward_with_retain_graph(chunk, span) -> None:
    z = _unit_rows(30, 5).requires_grad_(True)
    g = torch.randn(30 if span[1] is None else span[1] - span[0], dtype=torch.float64)
    loss = (row_logsumexp(z, 0.2, span[0], span[1], chunk) * g).sum()
    loss.backward(retain_graph=True)
    first = z.grad.clone()
    loss.backward()
    torch.testing.assert_close(z.grad, 2 * first)


@pytest.mark.parametrize("chunk", [None, 9])
@pytest.mark.parametrize("t", [0.07, 0.5])
def test_loss_gradients_match_loop_references(blocks, chunk, t) -> None:
    b, d = 21, 8
    z1, z2 = torch.randn(b, d, dtype=torch.float64), torch.randn(b, d, dtype=torch.float64)
    clusters = torch.randint(0, 4, (b,))
    ids = torch.cat([clusters, clusters])
    cases = [
        (
            lambda u, v: nt_xent(u, v, t, chunk_size=chunk),
            lambda u, v: reference_nt_xent(u, v, t),
        ),
        (
            lambda u, v: sup_con(torch.cat([u, v]), ids, t, chunk_size=chunk),
            lambda u, v: reference_sup_con(torch.cat([u, v]), ids, t),
        ),
        (
            lambda u, v: cl_info_nce(u, v, clusters, t, chunk_size=chunk),
            lambda u, v: reference_sup_con(torch.cat([u, v]), ids, t),
        ),
    ]
    for fast, slow in cases:
        grads = []
        for fn in (fast, slow):
            u, v = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
            value = fn(u, v)
            value.backward()
            grads.append((value.detach(), u.grad, v.grad))
        for got, expected in zip(grads[0], grads[1], strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
