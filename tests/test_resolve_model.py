"""``resolve_model``: every model spec, the head refit, and the one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from archtune import ConfigError
from archtune.arch import Dense, Head, Network, builtin_network
from archtune.arch.families import get_family
from archtune.training import ResolvedModel, resolve_model

MNIST_SHAPE = (28, 28, 1)  # mnist-sample's input shape
SRC = Path(__file__).parent.parent / "src" / "archtune"
FACTORIES = Path(__file__).parent / "interop"


def resolve(model: Any, **kwargs: Any) -> ResolvedModel:
    fit: dict[str, Any] = {"input_shape": MNIST_SHAPE, "n_outputs": 10, "head": "softmax"}
    return resolve_model(model, **(fit | kwargs))


def one_line_error(match: str, model: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError, match=re.escape(match)) as caught:
        resolve(model, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def tiny_keras_model(n_outputs: int = 10) -> Any:
    from archtune.backends.keras import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(MNIST_SHAPE),
            keras.layers.Conv2D(4, (3, 3), activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(n_outputs, activation="softmax"),
        ]
    )


def test_a_builtin_network() -> None:
    resolved = resolve("cnn-16-32-32")
    assert resolved == ResolvedModel(builtin_network("cnn-16-32-32"), None, "builtin")


def test_a_family_is_its_default_configuration_on_the_data() -> None:
    resolved = resolve("cnn2d", n_outputs=3)
    family = get_family("cnn2d")
    expected = family.build(
        family.default_config(), input_shape=MNIST_SHAPE, n_outputs=3, head_activation="softmax"
    )
    assert resolved == ResolvedModel(expected, None, "family")
    assert resolved.network.input_shape == MNIST_SHAPE
    assert resolved.network.head == Head(3, activation="softmax")


def test_a_network_is_kept_or_gets_the_datas_head() -> None:
    network = Network((10,), layers=[Dense(8)], head=Head(10), name="small")
    resolved = resolve(network, input_shape=(10,))
    assert resolved.network is network
    assert (resolved.weights, resolved.source) == (None, "network")

    refitted = resolve(network, input_shape=(10,), n_outputs=2, head="none").network
    assert refitted.head == Head(2, activation="none")
    assert (refitted.layers, refitted.name) == (network.layers, "small")


def test_a_builtin_gets_the_datas_head() -> None:
    resolved = resolve("cnn-16-32-32", n_outputs=3, head="sigmoid")
    assert resolved.network.head == Head(3, activation="sigmoid")
    assert resolved.network.layers == builtin_network("cnn-16-32-32").layers


def test_no_head_keeps_the_networks_own() -> None:
    resolved = resolve("cnn-16-32-32", n_outputs=3, head=None)
    assert resolved.network == builtin_network("cnn-16-32-32")


def test_a_config_block_names_a_builtin_network() -> None:
    resolved = resolve({"network": "cnn-16-32-32"})
    assert resolved == ResolvedModel(builtin_network("cnn-16-32-32"), None, "builtin")
    one_line_error("model.network: builtin_network: name must be one of", {"network": "x"})
    one_line_error(
        "model.network 'mlp-32-32' takes inputs of shape (10,), but the data's are "
        "(28, 28, 1); choose a network for this data or a family",
        {"network": "mlp-32-32"},
    )


def test_a_keras_file_comes_with_its_weights(tmp_path: Path) -> None:
    path = tmp_path / "tiny.keras"
    tiny_keras_model().save(path)
    resolved = resolve(str(path))
    assert resolved.source == "keras-file"
    assert resolved.network.name == "tiny"
    assert resolved.network.input_shape == MNIST_SHAPE
    assert resolved.network.head == Head(10, activation="softmax")
    assert resolved.weights is not None
    assert sum(w.size for w in resolved.weights.values()) == 4 * 9 + 4 + 26 * 26 * 4 * 10 + 10


def test_weights_whose_head_does_not_fit_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.keras"
    tiny_keras_model().save(path)
    one_line_error(
        "shrink: model 'tiny' has 10 outputs (softmax), but the data need 3 (softmax)",
        str(path),
        n_outputs=3,
        what="shrink: model",
    )


def test_an_imported_model_keeps_its_weights() -> None:
    from archtune.interop import from_keras

    imported = from_keras(tiny_keras_model(), name="tiny")
    resolved = resolve(imported)
    assert resolved == ResolvedModel(imported.network, imported.weights, "imported")
    one_line_error(
        "has 10 outputs (softmax), but the data need 2 (softmax)", imported, n_outputs=2
    )


def test_functions_return_keras_models_or_torch_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FACTORIES))
    keras_made = resolve("model_factories:keras_reference_cnn")
    assert keras_made.source == "function"
    assert keras_made.network.name == "keras_reference_cnn"
    assert keras_made.network.head == Head(10, activation="softmax")
    assert keras_made.weights is not None

    torch_made = resolve("model_factories:torch_reference_mlp", input_shape=(10,))
    assert torch_made.source == "function"
    assert torch_made.network.input_shape == (10,)
    assert torch_made.network.head == Head(10, activation="softmax")  # the data's head
    assert torch_made.weights is not None
    assert sum(w.size for w in torch_made.weights.values()) == 5_514

    one_line_error(
        "model 'model_factories:torch_reference_mlp' returned a PyTorch module: pass "
        "--input-shape",
        "model_factories:torch_reference_mlp",
        input_shape=None,
    )
    one_line_error("model 'model_factories:absent':", "model_factories:absent")


def test_the_errors_are_one_line(tmp_path: Path) -> None:
    message = one_line_error(
        "shrink: model must be a built-in network or a family (cnn-32-64-64",
        "resnet-9000",
        what="shrink: model",
    )
    assert message.endswith("a .keras file or module:function, got 'resnet-9000'")
    one_line_error(
        "model 'mlp-32-32' takes inputs of shape (10,), but the data's are (28, 28, 1)",
        "mlp-32-32",
    )
    one_line_error("model 'missing.keras': no such file", "missing.keras")
    (tmp_path / "broken.keras").write_text("not a keras file")
    one_line_error("model 'broken.keras' is corrupt or of another format", "broken.keras")
    one_line_error("model must be a name, a .keras file, module:function, a Network", 42)
    one_line_error("model 'cnn2d' is a family: pass --input-shape", "cnn2d", input_shape=None)


def test_the_callers_are_thin() -> None:
    from archtune.cli._model_cmds import resolve_network
    from archtune.shrinking._resolve import resolve_baseline

    network, weights = resolve_baseline(
        "cnn-16-32-32", input_shape=MNIST_SHAPE, n_outputs=3, head="softmax"
    )
    assert (network.head, weights) == (Head(3, activation="softmax"), None)
    with pytest.raises(ConfigError, match=r"^shrink: model 'mlp-32-32' takes inputs"):
        resolve_baseline("mlp-32-32", input_shape=MNIST_SHAPE, n_outputs=10, head="softmax")

    # The CLI keeps a built-in's own input and head: --input-shape is for families and modules.
    assert resolve_network("mlp-32-32", input_shape="28,28,1", n_outputs=3) == builtin_network(
        "mlp-32-32"
    )
    family = resolve_network("mlp", input_shape="12", n_outputs=4)
    assert (family.input_shape, family.head) == ((12,), Head(4, activation="softmax"))


def test_the_library_does_not_call_up_into_the_cli() -> None:
    for package in ("shrinking", "training"):
        for path in (SRC / package).rglob("*.py"):
            assert "archtune.cli" not in path.read_text(), path
