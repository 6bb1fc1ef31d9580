"""The multilayer perceptron every model family builds its encoders and decoders from."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["ACTIVATIONS", "make_mlp"]

#: Activation name (ModelConfig.activation) -> module class.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


def make_mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """An MLP mapping (n, in_dim) -> (n, out_dim).

    hidden: sizes of the hidden layers (empty gives a single linear map). Each hidden layer is
    Linear -> [BatchNorm1d] -> activation -> [Dropout]; the output layer is linear (no activation),
    so latents and reconstructions are unconstrained real values.
    dropout: probability in [0, 0.9] after each hidden activation. batch_norm: normalise hidden layers.
    """
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    prev = in_dim
    for width in hidden:
        layers.append(nn.Linear(prev, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(act())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        prev = width
    layers.append(nn.Linear(prev, out_dim))
    return nn.Sequential(*layers)
