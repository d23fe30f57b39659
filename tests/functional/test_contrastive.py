"""Functional losses against slow loop references (METHODS.md §0, §1)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from infoclr.functional import cl_info_nce, nt_xent, row_logsumexp, sup_con


def reference_sup_con(features: torch.Tensor, group_ids: torch.Tensor, t: float) -> float:
    """SupCon L_out as written in Khosla et al., one anchor at a time, in float64."""
    z = F.normalize(features.double(), dim=1)
    n = z.shape[0]
    total, anchors = 0.0, 0
    for a in range(n):
        positives = [p for p in range(n) if p != a and group_ids[p] == group_ids[a]]
        if not positives:
            continue
        denom = math.log(sum(math.exp(float(z[a] @ z[b]) / t) for b in range(n) if b != a))
        total += -sum(float(z[a] @ z[p]) / t - denom for p in positives) / len(positives)
        anchors += 1
    return total / anchors


def reference_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    z = F.normalize(torch.cat([z1, z2]).double(), dim=1)
    n, b = z.shape[0], z1.shape[0]
    total = 0.0
    for a in range(n):
        p = (a + b) % n
        denom = math.log(sum(math.exp(float(z[a] @ z[j]) / t) for j in range(n) if j != a))
        total += -float(z[a] @ z[p]) / t + denom
    return total / n


@pytest.mark.parametrize("n,d", [(6, 3), (17, 8), (40, 16)])
@pytest.mark.parametrize("t", [0.05, 0.1, 0.5, 1.0])
def test_sup_con_matches_loop_reference(n: int, d: int, t: float) -> None:
    features = torch.randn(n, d)
    group_ids = torch.randint(0, 4, (n,))
    expected = reference_sup_con(features, group_ids, t)
    assert sup_con(features, group_ids, t).item() == pytest.approx(expected, rel=1e-5, abs=1e-5)
    chunked = sup_con(features, group_ids, t, chunk_size=5).item()
    assert chunked == pytest.approx(expected, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("b,d", [(1, 4), (5, 3), (24, 16)])
@pytest.mark.parametrize("t", [0.1, 0.5, 2.0])
def test_nt_xent_matches_loop_reference(b: int, d: int, t: float) -> None:
    z1, z2 = torch.randn(b, d), torch.randn(b, d)
    expected = reference_nt_xent(z1, z2, t)
    assert nt_xent(z1, z2, t).item() == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_sup_con_with_instance_ids_is_nt_xent() -> None:
    z1, z2 = torch.randn(32, 8), torch.randn(32, 8)
    ids = torch.arange(32)
    a = sup_con(torch.cat([z1, z2]), torch.cat([ids, ids]), 0.3)
    b = nt_xent(z1, z2, 0.3)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


def test_anchors_without_positive_are_excluded() -> None:
    features = torch.randn(7, 4)
    group_ids = torch.tensor([0, 0, 1, 1, 1, 2, 3])  # rows 5 and 6 have no positive
    expected = reference_sup_con(features, group_ids, 0.2)
    assert sup_con(features, group_ids, 0.2).item() == pytest.approx(expected, rel=1e-5)
    # No positive anywhere: a zero that keeps the graph, not NaN.
    x = torch.randn(4, 3, requires_grad=True)
    loss = sup_con(x, torch.arange(4), 0.2)
    loss.backward()
    assert loss.item() == 0.0 and torch.all(x.grad == 0)


def test_base_temperature_scales_like_official_code() -> None:
    features, ids = torch.randn(10, 4), torch.randint(0, 3, (10,))
    plain = sup_con(features, ids, 0.1)
    scaled = sup_con(features, ids, 0.1, base_temperature=0.07)
    assert scaled.item() == pytest.approx(plain.item() * 0.1 / 0.07, rel=1e-6)


def test_cl_info_nce_official_is_sup_con_over_both_views() -> None:
    z1, z2 = torch.randn(12, 5), torch.randn(12, 5)
    clusters = torch.randint(0, 3, (12,))
    got = cl_info_nce(z1, z2, clusters, 0.1)
    expected = reference_sup_con(torch.cat([z1, z2]), torch.cat([clusters, clusters]), 0.1)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_cl_info_nce_paper_form_matches_reference_with_same_draws() -> None:
    b, t = 9, 0.2
    z1, z2 = torch.randn(b, 4), torch.randn(b, 4)
    clusters = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0, 3])
    got = cl_info_nce(z1, z2, clusters, t, form="paper", generator=torch.Generator().manual_seed(3))
    # Replay the same draws: scores from the same seeded generator, argmax over same-cluster.
    gen = torch.Generator().manual_seed(3)
    x, y = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    total = 0.0
    for anchors, candidates in ((x, y), (y, x)):
        scores = torch.rand((b, b), generator=gen)
        for i in range(b):
            same = [j for j in range(b) if clusters[j] == clusters[i]]
            p = max(same, key=lambda j: float(scores[i, j]))
            logits = [float(anchors[i] @ candidates[j]) / t for j in range(b)]
            total += -logits[p] + math.log(sum(math.exp(v) for v in logits) / b)
    assert got.item() == pytest.approx(total / (2 * b), rel=1e-5)
    # Instance clusters: the sampled positive is always the other view, which is SimCLR's
    # cross-view InfoNCE (up to the constant log B).
    inst = cl_info_nce(z1, z2, torch.arange(b), t, form="paper")
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t() / t
    cross = (
        F.cross_entropy(logits, torch.arange(b)) + F.cross_entropy(logits.t(), torch.arange(b))
    ) / 2
    assert inst.item() == pytest.approx(cross.item() - math.log(b), rel=1e-5)


@pytest.mark.parametrize("chunk", [None, 3])
def test_gradcheck_float64(chunk: int | None) -> None:
    x = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])
    assert torch.autograd.gradcheck(
        lambda f: sup_con(f, ids, 0.3, chunk_size=chunk), (x,), eps=1e-6, atol=1e-5
    )
    assert torch.autograd.gradcheck(
        lambda f: row_logsumexp(F.normalize(f, dim=1), 0.25, 2, 6, chunk), (x,)
    )
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, v: nt_xent(u, v, 0.5, chunk), (a, b))


@pytest.mark.parametrize("n", [64, 301])
def test_chunked_equals_dense_values_and_gradients(n: int) -> None:
    features = torch.randn(n, 32)
    ids = torch.randint(0, 10, (n,))
    grads = []
    values = []
    for chunk in (None, 7, 64):
        x = features.clone().requires_grad_(True)
        loss = sup_con(x, ids, 0.1, chunk_size=chunk)
        loss.backward()
        values.append(loss.item())
        grads.append(x.grad)
    for v, g in zip(values[1:], grads[1:], strict=True):
        assert v == pytest.approx(values[0], abs=1e-5)
        torch.testing.assert_close(g, grads[0], atol=1e-5, rtol=1e-5)


def test_retain_graph_second_backward_is_correct() -> None:
    x = torch.randn(10, 4, requires_grad=True)
    loss = nt_xent(x[:5], x[5:], 0.5)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * first)


@pytest.mark.parametrize("t", [0.01, 0.02])
def test_low_temperature_is_finite_and_exact(t: float) -> None:
    # Vectors whose best match is far below 1/t: the constant shift underflows for them, so the
    # exact fallback path must kick in.
    z = torch.randn(20, 16)
    z[0] = -z[1:].mean(0) * 50  # nearly opposite to everything
    ids = torch.randint(0, 3, (20,))
    x = z.clone().requires_grad_(True)
    loss = sup_con(x, ids, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    assert loss.item() == pytest.approx(reference_sup_con(z, ids, t), rel=1e-5)


def test_identical_and_zero_vectors_are_stable() -> None:
    same = torch.ones(8, 4, requires_grad=True)
    loss = nt_xent(same[:4], same[4:], 0.01)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(same.grad).all()
    assert loss.item() == pytest.approx(math.log(7), rel=1e-5)
    zeros = torch.zeros(6, 3, requires_grad=True)
    loss = sup_con(zeros, torch.tensor([0, 0, 1, 1, 2, 2]), 0.05)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zeros.grad).all()


def test_bf16_autocast_matches_float32() -> None:
    z1, z2 = torch.randn(64, 16), torch.randn(64, 16)
    expected = nt_xent(z1, z2, 0.1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = nt_xent(z1.bfloat16(), z2.bfloat16(), 0.1)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected.item(), rel=2e-2)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: nt_xent(torch.randn(4, 3), torch.randn(5, 3)), "same shape"),
        (lambda: sup_con(torch.randn(4, 3), torch.arange(3)), "group_ids has 3"),
        (lambda: sup_con(torch.randn(4, 3), torch.arange(4), temperature=0.0), "temperature"),
        (lambda: nt_xent(torch.randn(4, 3), torch.randn(4, 3), -1.0), "temperature"),
        (lambda: sup_con(torch.tensor([[float("nan"), 1.0], [1.0, 2.0]]), torch.zeros(2)), "NaN"),
        (lambda: nt_xent(torch.randn(2, 3), torch.full((2, 3), float("inf"))), "NaN or inf"),
        (lambda: sup_con(torch.randn(1, 3), torch.zeros(1, dtype=torch.long)), "at least 2 rows"),
        (lambda: sup_con(torch.randn(4), torch.zeros(4, dtype=torch.long)), "2-D"),
        (lambda: cl_info_nce(torch.randn(4, 3), torch.randn(4, 3), torch.arange(8)), "per input"),
        (lambda: sup_con(torch.randn(4, 3), torch.arange(4), chunk_size=0), "chunk_size"),
    ],
)
def test_bad_input_raises_value_error_naming_the_fix(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_finite_check_can_be_switched_off() -> None:
    bad = torch.tensor([[float("nan"), 1.0], [1.0, 2.0]])
    loss = nt_xent(bad[:1], bad[1:], 0.5, check_finite=False)
    assert torch.isnan(loss)
