"""Loss terms: values against closed-form references, masks, and gradient stability."""

from __future__ import annotations

import numpy as np
import torch

from mmcorr._cca import fit_cca
from mmcorr.losses import (
    LossOutput,
    LossPart,
    cca_correlation,
    corrnet_correlation,
    gaussian_nll,
    kl_standard_normal,
    masked_mse,
    multiview_cca_correlation,
)


def _pair(n: int = 500, k: int = 3, noise: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shared = torch.randn(n, k, generator=g)
    a = shared @ torch.randn(k, k, generator=g) + noise * torch.randn(n, k, generator=g)
    b = shared @ torch.randn(k, k, generator=g) + noise * torch.randn(n, k, generator=g)
    return a, b


def test_cca_correlation_matches_closed_form_cca() -> None:
    a, b = _pair()
    ours = float(cca_correlation(a, b, reg=1e-6))
    ref = fit_cca([a.numpy().astype(np.float64), b.numpy().astype(np.float64)], 3, reg=1e-6)
    assert abs(ours - float(ref.correlations.sum())) < 1e-3
    assert 0.0 < ours < 3.0


def test_cca_correlation_is_near_zero_for_independent_views_and_top_k_sums_fewer() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4000, 3, generator=g), torch.randn(4000, 3, generator=g)
    assert float(cca_correlation(a, b)) < 0.15
    x, y = _pair()
    assert float(cca_correlation(x, y, k=1)) < float(cca_correlation(x, y))


def test_cca_gradient_is_finite_for_collinear_latents() -> None:
    a, _ = _pair()
    za = torch.cat([a, a[:, :1]], dim=1).requires_grad_(True)  # a duplicated column: singular covariance
    zb = (a + 0.1).clone().requires_grad_(True)
    (-cca_correlation(za, zb)).backward()
    assert za.grad is not None and torch.isfinite(za.grad).all()
    assert zb.grad is not None and torch.isfinite(zb.grad).all()


def test_multiview_cca_is_mean_over_pairs() -> None:
    a, b = _pair(seed=2)
    c = a + 0.3 * torch.randn_like(a)
    expect = (cca_correlation(a, b) + cca_correlation(a, c) + cca_correlation(b, c)) / 3
    assert torch.allclose(multiview_cca_correlation([a, b, c]), expect)


def test_corrnet_correlation_is_k_for_identical_views_and_negative_when_flipped() -> None:
    a, _ = _pair(k=4)
    assert abs(float(corrnet_correlation([a, a])) - 4.0) < 1e-3
    assert abs(float(corrnet_correlation([a, -a])) + 4.0) < 1e-3


def test_masked_losses_ignore_absent_rows() -> None:
    pred = torch.zeros(4, 2)
    target = torch.tensor([[1.0, 1.0], [1.0, 1.0], [100.0, 100.0], [100.0, 100.0]])
    w = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert float(masked_mse(pred, target, w)) == 1.0
    assert float(gaussian_nll(pred, target, w)) == 1.0  # 0.5 * (1 + 1)
    assert float(masked_mse(pred, target, torch.zeros(4))) == 0.0


def test_kl_is_zero_at_the_prior_and_positive_elsewhere() -> None:
    assert float(kl_standard_normal(torch.zeros(5, 3), torch.zeros(5, 3))) == 0.0
    assert float(kl_standard_normal(torch.ones(5, 3), torch.zeros(5, 3))) == 1.5


def test_loss_output_reports_total_with_parts() -> None:
    out = LossOutput(
        total=torch.tensor(2.0, requires_grad=True), parts={LossPart.RECON.value: torch.tensor(2.0)}
    )
    parts = out.detached_parts()
    assert set(parts) == {"recon", "total"} and not parts["total"].requires_grad
