"""``from_torch``: channels-first modules become channels-last descriptions computing the same."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from archtune import ConfigError  # noqa: E402
from archtune.arch import builtin_network  # noqa: E402
from archtune.interop import ImportedModel, UnsupportedLayerError, from_torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


class ReferenceCNN(nn.Module):
    """Keras's MNIST CNN as PyTorch users write it: functional calls, NCHW, logits out."""

    def __init__(self, filters: tuple[int, int, int] = (32, 64, 64), units: int = 64) -> None:
        super().__init__()
        first, second, third = filters
        self.conv1 = nn.Conv2d(1, first, 3)
        self.conv2 = nn.Conv2d(first, second, 3)
        self.conv3 = nn.Conv2d(second, third, 3)
        self.fc = nn.Linear(third * 3 * 3, units)
        self.out = nn.Linear(units, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = self.conv3(x).relu()
        x = x.view(x.size(0), -1)
        return self.out(F.relu(self.fc(x)))


def compare(module: nn.Module, imported: ImportedModel, x: torch.Tensor) -> None:
    """The original module and the built description give the same outputs."""
    module.eval()
    built = imported.build_torch()
    with torch.no_grad():
        expected = module(x)
        got = built(torch.from_numpy(imported.prepare_input(x.numpy())))
    activation = imported.network.head.activation
    if activation == "softmax" and torch.allclose(expected.sum(-1), torch.ones(len(x))):
        got = torch.softmax(got, dim=-1)
    elif activation == "sigmoid":
        got = torch.sigmoid(got)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_the_reference_cnn_gives_the_keras_description_and_its_outputs() -> None:
    module = ReferenceCNN()
    imported = from_torch(module, torch.zeros(1, 1, 28, 28), head_activation="softmax")
    reference = builtin_network("cnn-32-64-64")
    assert imported.network.layers == reference.layers
    assert imported.network.head == reference.head
    assert imported.network.input_shape == (28, 28, 1)
    assert imported.input_permutation == (0, 2, 3, 1)
    assert imported.params == 93_322 == sum(p.numel() for p in module.parameters())
    compare(module, imported, torch.randn(4, 1, 28, 28))


def test_from_keras_and_from_torch_agree_on_the_reference_cnn() -> None:
    keras = pytest.importorskip("keras")
    from archtune.interop import from_keras

    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    from_k = from_keras(model, name="cnn")
    sequential = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
        nn.Softmax(dim=1),
    )
    from_t = from_torch(sequential, torch.zeros(2, 1, 28, 28), name="cnn")
    assert from_t.network == from_k.network
    assert from_t.params == from_k.params == 93_322
    assert list(from_t.weights) == list(from_k.weights)
    for name, value in from_t.weights.items():
        assert value.shape == from_k.weights[name].shape, name
    compare(sequential, from_t, torch.randn(3, 1, 28, 28))


def test_a_resnet_with_projections_and_batch_norm_computes_the_same() -> None:
    class Block(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.a = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.norm = nn.BatchNorm2d(c_out, eps=1e-3)
            self.b = nn.Conv2d(c_out, c_out, 3, 1, 1)
            self.proj = nn.Conv2d(c_in, c_out, 1, stride) if stride != 1 else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.b(F.relu(self.norm(self.a(x))))
            shortcut = x if self.proj is None else self.proj(x)
            return F.relu(y + shortcut)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.blocks = nn.Sequential(Block(8, 8, 1), Block(8, 16, 2))
            self.fc = nn.Linear(16, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.blocks(F.relu(self.stem(x)))
            return self.fc(x.mean(dim=(2, 3)))

    module = ResNet()
    with torch.no_grad():  # trained-looking running statistics
        for sub in module.modules():
            if isinstance(sub, nn.BatchNorm2d):
                sub.running_mean.uniform_(-1, 1)
                sub.running_var.uniform_(0.01, 0.1)  # so that eps=1e-3 matters
    imported = from_torch(module, torch.zeros(1, 3, 9, 9))
    kinds = [layer.kind for layer in imported.network.layers]
    assert kinds == ["conv2d", "residual", "residual", "global_avg_pool"]
    assert imported.network.layers[2].activation == "relu"  # type: ignore[attr-defined]
    assert any("raw outputs" in note for note in imported.notes)
    compare(module, imported, torch.randn(3, 3, 9, 9))


def test_a_depthwise_separable_pair_becomes_one_separable_convolution() -> None:
    module = nn.Sequential(
        nn.Conv2d(3, 3, 3, padding=1, groups=3),  # with a bias: folded into the pointwise
        nn.Conv2d(3, 8, 1),
        nn.BatchNorm2d(8),
        nn.GELU(),
        nn.AvgPool2d(2),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(8, 3),
        nn.LogSoftmax(dim=-1),
    )
    imported = from_torch(module, torch.zeros(1, 3, 8, 8))
    first = imported.network.layers[0]
    assert first.kind == "conv2d"
    assert first.separable  # type: ignore[attr-defined]
    assert imported.network.head.activation == "softmax"
    module.eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        logits = imported.build_torch()(torch.from_numpy(imported.prepare_input(x.numpy())))
        torch.testing.assert_close(F.log_softmax(logits, dim=-1), module(x), atol=1e-5, rtol=0)


class Recurrent(nn.Module):
    def __init__(self, kind: type[nn.Module], *, bidirectional: bool, n_layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.rnn = kind(6, 5, num_layers=n_layers, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(10 if bidirectional else 5, 3)
        self.bidirectional = bidirectional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(x))
        if self.bidirectional:
            return self.fc(out.mean(dim=1))
        return self.fc(out[:, -1])


class LastState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=1)
        self.rnn = nn.LSTM(6, 5, batch_first=True)
        self.fc = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, L, C), channels-last
        x = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        _, (h, _) = self.rnn(x)
        return torch.sigmoid(self.fc(h[-1]))


@pytest.mark.parametrize(
    ("module", "example", "kinds"),
    [
        (
            Recurrent(nn.GRU, bidirectional=False, n_layers=2),
            torch.randint(0, 20, (2, 7)),
            ["embedding", "gru", "gru"],
        ),
        (
            Recurrent(nn.LSTM, bidirectional=True, n_layers=1),
            torch.randint(0, 20, (2, 7)),
            ["embedding", "lstm", "global_avg_pool"],
        ),
        (LastState(), torch.randn(2, 7, 4), ["conv1d", "lstm"]),
    ],
)
def test_recurrent_models_compute_the_same(
    module: nn.Module, example: torch.Tensor, kinds: list[str]
) -> None:
    imported = from_torch(module, example)
    assert [layer.kind for layer in imported.network.layers] == kinds
    assert imported.input_permutation is None
    compare(module, imported, example)


def test_import_leaves_the_module_unchanged() -> None:
    module = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    module.train()
    before = {name: value.clone() for name, value in module.state_dict().items()}
    from_torch(module, torch.randn(8, 4))
    assert module.training
    assert module[1].training
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, before[name])


def test_an_unsupported_module_is_named_with_its_position_and_the_supported_kinds() -> None:
    module = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(), nn.Linear(8, 2))
    with pytest.raises(UnsupportedLayerError) as caught:
        from_torch(module, torch.zeros(1, 4))
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.position == "module '1'"
    assert "LeakyReLU" in error.layer
    assert "Linear" in error.supported
    assert "supported layers: Linear, Conv1d" in str(error)


class Concat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.fc = nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.cat([self.a(x), self.b(x)], dim=1))


@pytest.mark.parametrize(
    ("module", "example", "message"),
    [
        (
            nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(32, 2)),
            torch.zeros(1, 1, 8, 8),
            "neither 'valid' .* nor Keras's 'same'",
        ),
        (
            nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.Linear(16, 2)),
            torch.zeros(1, 4, 4, 4),
            "groups=2",
        ),
        (
            nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.Flatten(), nn.Linear(32, 2)),
            torch.zeros(1, 1, 8, 8),
            "dilation must be 1",
        ),
        (Concat(), torch.zeros(1, 4), "reads 2 tensors"),
        (
            nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=-1), nn.Linear(2, 2)),
            torch.zeros(1, 4),
            "follows the softmax",
        ),
    ],
)
def test_unsupported_structures_say_what_and_where(
    module: nn.Module, example: torch.Tensor, message: str
) -> None:
    with pytest.raises(UnsupportedLayerError, match=message):
        from_torch(module, example)


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"must be a torch\.nn\.Module"):
        from_torch("model", torch.zeros(1, 4))
    with pytest.raises(ConfigError, match="example_input must be a batch"):
        from_torch(nn.Linear(4, 2), torch.zeros(4))

    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(ConfigError, match=r"cannot be traced with torch\.fx"):
        from_torch(Branchy(), torch.zeros(1, 4))


def test_imported_weights_are_numpy_keyed_by_the_builders_names() -> None:
    imported = from_torch(ReferenceCNN(), torch.zeros(1, 1, 28, 28))
    assert all(isinstance(value, np.ndarray) for value in imported.weights.values())
    assert list(imported.weights) == list(imported.build_torch().state_dict())
