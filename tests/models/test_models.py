"""Model families behind one contract: shapes, masks, registry and modality subsets."""

from __future__ import annotations

import pytest
import torch

from mmcorr import MmcorrError
from mmcorr.config import ModelConfig
from mmcorr.models import MODEL_REGISTRY, drop_modalities, get_model_class, product_of_experts

NAMES = ["a", "b", "c"]
DIMS = {"a": 6, "b": 4, "c": 5}


def _batch(n: int = 32, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xs = {k: torch.randn(n, d, generator=g) for k, d in DIMS.items()}
    return xs, torch.ones(n, 3, dtype=torch.bool)


@pytest.mark.parametrize("name", ["ae", "corrae", "dccae", "mvae"])
def test_deep_model_loss_and_latent_shapes(name: str) -> None:
    torch.manual_seed(0)
    model = get_model_class(name)(NAMES, DIMS, ModelConfig(model=name, latent_dim=3, hidden=(8,)))  # type: ignore[arg-type]
    xs, mask = _batch()
    out = model.loss(xs, mask)
    assert out.total.shape == () and torch.isfinite(out.total)
    out.total.backward()
    assert all(p.grad is not None for p in model.encoders.parameters())
    lat = model.encode(xs)
    assert set(lat) == set(NAMES) and all(z.shape == (32, 3) for z in lat.values())
    assert model.encode_joint(xs, mask).shape == (32, 3)


def test_registry_names_match_config_and_unknown_name_is_rejected() -> None:
    assert set(MODEL_REGISTRY) == {"cca", "ae", "corrae", "dccae", "mvae"}
    with pytest.raises(MmcorrError, match="'model' parameter must be one of"):
        get_model_class("pca")


def test_drop_modalities_keeps_at_least_one_present_modality() -> None:
    torch.manual_seed(0)
    mask = torch.rand(2000, 3) > 0.3
    mask[:, 0] |= ~mask.any(dim=1)  # every row has at least one modality
    dropped = drop_modalities(mask, 0.8)
    assert bool((dropped <= mask).all())  # never invents a modality
    assert bool(dropped.any(dim=1).all())
    assert 0.3 < float(dropped.sum() / mask.sum()) < 0.6  # roughly 1 - p, plus the kept ones


def test_product_of_experts_ignores_masked_experts() -> None:
    mu = torch.tensor([[[1.0], [50.0]]])
    logvar = torch.zeros(1, 2, 1)
    only_first = torch.tensor([[True, False]])
    post_mu, post_logvar = product_of_experts(mu, logvar, only_first)
    assert torch.allclose(post_mu, torch.tensor([[0.5]]))  # prior N(0,1) x expert N(1,1)
    assert torch.allclose(post_logvar, torch.log(torch.tensor([[0.5]])))
    none_mu, none_logvar = product_of_experts(mu, logvar, torch.zeros(1, 2, dtype=torch.bool))
    assert float(none_mu) == 0.0 and float(none_logvar) == 0.0  # falls back to the prior


@pytest.mark.parametrize("name", ["ae", "mvae"])
def test_partially_paired_rows_do_not_change_the_loss_through_absent_values(name: str) -> None:
    torch.manual_seed(0)
    model = get_model_class(name)(NAMES, DIMS, ModelConfig(model=name, latent_dim=3, hidden=(8,)))  # type: ignore[arg-type]
    model.eval()  # no modality dropout / sampling: a deterministic loss
    xs, mask = _batch()
    mask[:16, 1] = False
    garbage = {k: v.clone() for k, v in xs.items()}
    garbage["b"][:16] = 1e6  # values of absent rows must be ignored
    assert torch.allclose(model.loss(xs, mask).total, model.loss(garbage, mask).total)
    joint = model.encode_joint(xs, mask)
    assert torch.allclose(joint, model.encode_joint(garbage, mask))


def test_linear_cca_encodes_with_its_fitted_projections() -> None:
    model = get_model_class("cca")(NAMES[:2], {"a": 6, "b": 4}, ModelConfig(model="cca", latent_dim=2))
    xs, _ = _batch(200)
    fit = model.fit_closed_form([xs["a"].double().numpy(), xs["b"].double().numpy()])  # type: ignore[operator]
    z = model.encode(xs)
    expect = (xs["a"].double().numpy() - fit.means[0]) @ fit.weights[0]
    assert torch.allclose(z["a"].double(), torch.as_tensor(expect), atol=1e-4)
    assert set(model.state_dict()) == {"mean_0", "weight_0", "mean_1", "weight_1"}


# -- one base, families differ by hooks ----------------------------------------------------------
@pytest.mark.parametrize("name", ["cca", "ae", "corrae", "dccae", "mvae"])
def test_the_base_builds_each_familys_encoders_and_decoders_from_its_declaration(name: str) -> None:
    cls = get_model_class(name)
    assert cls.name == name
    model = cls(NAMES, DIMS, ModelConfig(model=name, latent_dim=3, hidden=(8, 5)))  # type: ignore[arg-type]
    assert set(model.encoders) == (set(NAMES) if cls.encoder_outputs else set())
    assert set(model.decoders) == (set(NAMES) if cls.builds_decoders else set())
    for n, d in DIMS.items():
        if cls.encoder_outputs:
            assert model.encoders[n](torch.zeros(2, d)).shape == (2, 3 * cls.encoder_outputs)
        if cls.builds_decoders:
            assert model.decoders[n](torch.zeros(2, 3)).shape == (2, d)
            assert model.decoders[n][0].out_features == 5  # hidden sizes mirrored
    if cls.cross_decoder:  # decode maps the shared latent to any modality
        assert model.decode(torch.zeros(2, 3), "c").shape == (2, 5)


def test_only_closed_form_families_fit_in_closed_form() -> None:
    xs, _ = _batch(50)
    views = [xs["a"].double().numpy(), xs["b"].double().numpy()]
    for name, cls in MODEL_REGISTRY.items():
        model = cls(NAMES[:2], {"a": 6, "b": 4}, ModelConfig(model=name, latent_dim=2, hidden=(8,)))  # type: ignore[arg-type]
        if cls.fits_in_closed_form:
            assert model.fit_closed_form(views).correlations.shape == (2,)
        else:
            with pytest.raises(NotImplementedError, match="trained by gradient descent"):
                model.fit_closed_form(views)


def test_cca_check_dims_rejects_k_above_the_narrowest_modality_and_others_accept_it() -> None:
    with pytest.raises(
        MmcorrError, match=r"'latent_dim' parameter must be at most 4 for model 'cca'.*Got 5\."
    ):
        get_model_class("cca").check_dims({"a": 6, "b": 4}, 5)
    get_model_class("cca").check_dims({"a": 6, "b": 4}, 4)
    for name in ("ae", "corrae", "dccae", "mvae"):
        get_model_class(name).check_dims({"a": 6, "b": 4}, 5)


def test_the_estimator_reads_hooks_and_names_no_model_family() -> None:
    import ast
    from pathlib import Path

    import mmcorr.estimator

    families = {cls.__name__ for cls in MODEL_REGISTRY.values()} | set(MODEL_REGISTRY)
    for path in Path(mmcorr.estimator.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                assert "Model" not in ast.unparse(node), f"{path.name}:{node.lineno} type-checks a model"
            named = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = node.value
            assert named not in families, f"{path.name}:{getattr(node, 'lineno', '?')} names family {named!r}"
