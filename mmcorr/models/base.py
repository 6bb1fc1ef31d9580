"""The one contract every model family implements, so the trainer and estimator know none of them.

The base builds what the deep families share: one encoder and one decoder per modality, from
:class:`~mmcorr.config.ModelConfig`: an MLP for a flat modality, convolutions for an image or audio
one (:mod:`mmcorr.models.conv`), or a module the caller passes in as an encoder. A family declares what it needs (class attributes below)
and overrides the hooks where it differs; the estimator reads the hooks and never checks a type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn

from mmcorr._cca import CCAFit
from mmcorr._validation import MmcorrError
from mmcorr.config import ModelConfig
from mmcorr.losses import LossOutput
from mmcorr.models.conv import CONV_KINDS, ConvKind, make_conv_decoder, make_conv_encoder, wrap_encoder
from mmcorr.models.mlp import make_mlp

__all__ = ["EarlyStopOn", "MultimodalModel", "check_modalities", "drop_modalities", "masked_mean"]

#: What early stopping watches: the validation loss, or the held-out canonical correlation of a
#: linear CCA fitted on training latents (``"val_corr"``).
EarlyStopOn = Literal["loss", "val_corr"]


class MultimodalModel(nn.Module):
    """Base class: per-modality encoders into one latent space of size k, and a batch loss.

    Inputs everywhere are ``xs``: modality name -> float tensor (n, d_name) of preprocessed values
    (rows of absent modalities are zeros and ignored) and ``mask``: bool tensor (n, M), True where
    sample i has modality j (columns in ``names`` order).

    What a family declares (class attributes; the defaults suit an MLP autoencoder):

    Construction: ``names`` (modality order), ``dims`` (name -> preprocessed width d), ``config``;
    ``shapes``: name -> per-sample tensor shape a row reshapes to (prod(shape) == d), e.g. (C, H, W);
    ``kinds``: name -> ``"image"`` / ``"audio"`` (conv encoder and decoder over that shape; audio
    pools over time) or anything else (``"text"``, absent: the MLP); ``encoders``: name -> a
    ``nn.Module`` taking (n, *shape) (or (n, d) without a shape) and returning (n, f) features,
    wrapped as reshape -> module -> Linear(f, encoder_outputs * k) and trained with the rest (used
    as given, not copied; decoders stay the built-in ones). Every encoder / decoder maps flat rows.

    ``name``: the family's name in ``ModelConfig.model`` (the registry key).
    ``encoder_outputs``: the base builds ``encoders[name]``: (n, d) -> (n, encoder_outputs * k)
    (2 for a Gaussian expert's mean and log-variance); 0 builds no encoders.
    ``builds_decoders``: the base builds ``decoders[name]``: (n, k) -> (n, d), hidden sizes mirrored.
    ``needs_full_pairs``: trains only on samples present in every modality (the estimator filters).
    ``fits_in_closed_form``: fitted by :meth:`fit_closed_form` instead of the gradient trainer.
    ``cross_decoder``: :meth:`decode` maps the shared latent to any modality, so cross-modal
    prediction decodes; otherwise the estimator fits a ridge map from aligned latents.
    ``align_after_fit``: the per-modality latents live in different bases (CCA-type objectives);
    the estimator fits a linear CCA on the training latents so that ``transform`` returns aligned
    canonical variates.
    ``early_stop_on``: what the estimator's early stopping watches (:data:`EarlyStopOn`).

    Hooks a family may override: :meth:`check_dims` (constraints on k given the preprocessed
    widths), :meth:`initialise_from` / :meth:`use_linear_start` (a closed-form fallback fitted
    before training), :meth:`fit_closed_form`, :meth:`encode`, :meth:`encode_joint`, :meth:`decode`, and
    :meth:`loss` (which every trained family defines).
    """

    name: ClassVar[str] = ""
    encoder_outputs: ClassVar[int] = 1
    builds_decoders: ClassVar[bool] = True
    needs_full_pairs: ClassVar[bool] = True
    fits_in_closed_form: ClassVar[bool] = False
    cross_decoder: ClassVar[bool] = False
    align_after_fit: ClassVar[bool] = False
    early_stop_on: ClassVar[EarlyStopOn] = "loss"

    def __init__(
        self,
        names: list[str],
        dims: Mapping[str, int],
        config: ModelConfig,
        *,
        shapes: Mapping[str, Sequence[int]] | None = None,
        kinds: Mapping[str, str] | None = None,
        encoders: Mapping[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.dims = {n: int(dims[n]) for n in self.names}
        self.config = config
        self.latent_dim = config.latent_dim
        custom = dict(encoders or {})
        self.shapes, self.kinds = check_modalities(self.names, self.dims, shapes, kinds, custom)
        #: The modalities whose encoder wraps a module the caller passed (in ``names`` order).
        self.custom_encoders = [n for n in self.names if n in custom]
        if custom and not self.encoder_outputs:
            raise MmcorrError(
                f"Model '{self.name}' builds no encoders, so the 'encoders' parameter cannot be used "
                f"with it. Got custom encoders for {self.custom_encoders}."
            )
        k = self.latent_dim
        # Encoders before decoders, each in ``names`` order: the order fixes which draws of the
        # seeded RNG each layer gets (MLP-only models draw exactly as before conv modalities existed).
        self.encoders = nn.ModuleDict()
        self.decoders = nn.ModuleDict()
        if self.encoder_outputs:
            self.encoders = nn.ModuleDict(
                {n: self._encoder(n, self.encoder_outputs * k, custom.get(n)) for n in self.names}
            )
        if self.builds_decoders:
            self.decoders = nn.ModuleDict({n: self._decoder(n, k) for n in self.names})
        self.build_extra()

    def build_extra(self) -> None:
        """What a family adds after the encoders and decoders (buffers, an initialisation); called
        last by ``__init__``, so the seeded draws of the layers above stay as they were."""

    def _encoder(self, name: str, out: int, custom: nn.Module | None) -> nn.Module:
        cfg = self.config
        if custom is not None:
            return wrap_encoder(custom, self.shapes.get(name, (self.dims[name],)), out, name)
        kind = self._conv_kind(name)
        if kind is not None:
            return make_conv_encoder(
                kind,
                self.shapes[name],
                out,
                activation=cfg.activation,
                dropout=cfg.dropout,
                batch_norm=cfg.batch_norm,
            )
        return make_mlp(
            self.dims[name],
            cfg.hidden,
            out,
            activation=cfg.activation,
            dropout=cfg.dropout,
            batch_norm=cfg.batch_norm,
        )

    def _conv_kind(self, name: str) -> ConvKind | None:
        kind = self.kinds.get(name)
        return next((c for c in CONV_KINDS if c == kind), None)

    def _decoder(self, name: str, k: int) -> nn.Module:
        cfg = self.config
        kind = self._conv_kind(name)
        if kind is not None:
            shape = self.shapes[name]
            return make_conv_decoder(kind, shape, k, activation=cfg.activation, batch_norm=cfg.batch_norm)
        return make_mlp(
            k,
            tuple(reversed(cfg.hidden)),
            self.dims[name],
            activation=cfg.activation,
            dropout=cfg.dropout,
            batch_norm=cfg.batch_norm,
        )

    # -- hooks the estimator reads -----------------------------------------------------------------
    @classmethod
    def check_dims(cls, dims: Mapping[str, int], latent_dim: int) -> None:
        """Raise a MmcorrError when ``latent_dim`` does not suit the preprocessed feature counts
        ``dims`` (name -> d). The default accepts any k."""

    def initialise_from(self, views: Sequence[np.ndarray]) -> str | None:
        """Fit the family's closed-form fallback before gradient training, from the fully paired
        training rows (one (n, d_m) float64 array per modality, in ``names`` order; an evenly
        spaced subset of at most ~20k rows is enough). Returns a note for the run's history, or
        None.
        The default has no fallback; dccae keeps linear CCA (:mod:`mmcorr.models.linear_start`)."""
        return None

    def use_linear_start(self, on: bool) -> bool:
        """Switch the latents to the fallback fitted by :meth:`initialise_from` (True) or back to
        the trained network (False); returns False, changing nothing, when there is none. The
        estimator keeps the fallback after training when it scores at least as high on the
        validation pairs."""
        return False

    def blend_linear_start(self, linear: Sequence[np.ndarray], deep: Sequence[np.ndarray]) -> bool:
        """Make each latent direction a mix of the fallback's and the network's outputs: per
        modality (in ``names`` order) a (k, k) ``linear`` and ``deep`` mix, column j of the latent
        being ``fallback @ linear[m][:, j] + network @ deep[m][:, j]``
        (:func:`mmcorr.models.linear_start.blend_order` picks them). Returns False, changing
        nothing, when there is no fallback; :meth:`use_linear_start` undoes it."""
        return False

    def fit_closed_form(self, views: Sequence[np.ndarray]) -> CCAFit:
        """Fit in closed form on fully paired training views (one (n, d_m) float64 array per
        modality, in ``names`` order); only families with ``fits_in_closed_form`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} is trained by gradient descent.")

    # -- the contract ------------------------------------------------------------------------------
    def encode(self, xs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each modality's own latent, name -> (n, k) (the posterior mean for probabilistic models)."""
        return {n: self.encoders[n](xs[n]) for n in self.names}

    def encode_joint(self, xs: dict[str, Tensor], mask: Tensor) -> Tensor:
        """The fused latent (n, k) from the modalities present per sample (default: their mean)."""
        lat = self.encode(xs)
        return masked_mean(torch.stack([lat[n] for n in self.names], dim=1), mask)

    def decode(self, z: Tensor, name: str) -> Tensor:
        """Reconstruct modality ``name`` (n, d_name) from latents z (n, k)."""
        if name not in self.decoders:
            raise NotImplementedError(f"{type(self).__name__} has no decoder for cross-modal prediction.")
        out: Tensor = self.decoders[name](z)
        return out

    def loss(self, xs: dict[str, Tensor], mask: Tensor) -> LossOutput:
        """The training loss of one batch (the trainer minimises ``total``)."""
        raise NotImplementedError


def masked_mean(stack: Tensor, mask: Tensor) -> Tensor:
    """Mean over the modality axis of stack (n, M, k), counting only present entries of mask (n, M)."""
    w = mask.to(stack.dtype).unsqueeze(-1)
    return (stack * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


def drop_modalities(mask: Tensor, p: float) -> Tensor:
    """Hide each present modality with probability p, always keeping at least one per sample.

    mask: bool (n, M). Returns a bool (n, M) subset of mask. Rows that would lose every modality keep
    one present modality chosen at random (uses torch's global RNG, seeded by the trainer).
    """
    if p <= 0:
        return mask
    keep = mask & (torch.rand(mask.shape, device=mask.device) >= p)
    empty = ~keep.any(dim=1)
    # A random present modality per row: argmax of uniform noise restricted to present columns.
    score = torch.rand(mask.shape, device=mask.device) * mask.to(torch.float32) - (~mask).to(torch.float32)
    pick = nn.functional.one_hot(score.argmax(dim=1), mask.shape[1]).bool() & mask
    return torch.where(empty.unsqueeze(1), pick, keep)


def check_modalities(
    names: Sequence[str],
    dims: Mapping[str, int],
    shapes: Mapping[str, Sequence[int]] | None,
    kinds: Mapping[str, str] | None,
    encoders: Mapping[str, nn.Module],
) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Validated (shapes, kinds) of the modalities ``names`` with preprocessed widths ``dims``.

    A modality of kind ``image`` / ``audio`` needs a shape whose product is its width; a shape
    given for any modality must match its width; ``encoders`` must map known modality names to
    ``nn.Module`` instances. Raises MmcorrError naming the modality otherwise.
    """
    shapes_out = {n: tuple(int(v) for v in s) for n, s in (shapes or {}).items()}
    kinds_out = {n: str(k) for n, k in (kinds or {}).items()}
    for what, given in (("shapes", shapes_out), ("kinds", kinds_out), ("encoders", encoders)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise MmcorrError(
                f"The '{what}' parameter names modalities {unknown} the model does not have {list(names)}."
            )
    for n, shape in shapes_out.items():
        if int(np.prod(shape)) != dims[n] or min(shape, default=0) < 1:
            raise MmcorrError(
                f"The shape of modality '{n}' must have as many values as its {dims[n]} features. "
                f"Got {shape} ({int(np.prod(shape))} values)."
            )
    for n, kind in kinds_out.items():
        if kind in CONV_KINDS and len(shapes_out.get(n, ())) != 3:
            raise MmcorrError(
                f"The {kind} modality '{n}' needs a (channels, height, width) shape. Got {shapes_out.get(n)}."
            )
    for n, module in encoders.items():
        if not isinstance(module, nn.Module):
            raise MmcorrError(
                f"The custom encoder of modality '{n}' must be a torch.nn.Module. Got {type(module).__name__}."
            )
    return shapes_out, kinds_out
