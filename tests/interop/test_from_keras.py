"""``from_keras``: the description, the parameter count and the outputs match the Keras model."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from archtune import ConfigError  # noqa: E402
from archtune.arch import builtin_network  # noqa: E402
from archtune.backends.torch import apply_initialisation, build_module, read_state_dict  # noqa: E402
from archtune.interop import ImportedModel, UnsupportedLayerError, from_keras  # noqa: E402
from archtune.recipe import Recipe  # noqa: E402

layers = keras.layers


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.set_num_threads(1)
    keras.utils.set_random_seed(0)


def reference_cnn(filters: tuple[int, int, int] = (32, 64, 64), units: int = 64) -> object:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(filters[0], (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(filters[1], (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(filters[2], (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(units, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def reference_mlp(width: int) -> object:
    return keras.Sequential(
        [
            keras.Input((10,)),
            layers.Dense(width, activation="relu"),
            layers.Dense(width, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def outputs(model: object, imported: ImportedModel, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The Keras model's outputs and the built description's (activation applied)."""
    expected = model(x, training=False).detach().cpu().numpy()  # type: ignore[operator]
    with torch.no_grad():
        logits = imported.build_torch()(torch.from_numpy(x))
    activation = imported.network.head.activation
    if activation == "softmax":
        logits = torch.softmax(logits, dim=-1)
    elif activation == "sigmoid":
        logits = torch.sigmoid(logits)
    return expected, logits.numpy()


def test_the_reference_cnn_is_the_builtin_description_and_computes_the_same() -> None:
    model = reference_cnn()
    imported = from_keras(model, name="cnn-32-64-64")
    assert imported.network == builtin_network("cnn-32-64-64")
    assert imported.params == 93_322
    assert imported.notes == ()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    expected, got = outputs(model, imported, x)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "name", "params"),
    [
        (lambda: reference_cnn(), "cnn-32-64-64", 93_322),
        (lambda: reference_cnn((16, 32, 32), 32), "cnn-16-32-32", 23_626),
        (lambda: reference_mlp(64), "mlp-64-64", 5_514),
        (lambda: reference_mlp(32), "mlp-32-32", 1_738),
    ],
)
def test_the_four_reference_models_have_the_reference_counts(
    make: object, name: str, params: int
) -> None:
    model = make()  # type: ignore[operator]
    imported = from_keras(model, name=name)
    assert imported.params == params == model.count_params()
    assert imported.network == builtin_network(name)


def test_a_functional_resnet_with_separable_convolutions_computes_the_same() -> None:
    inputs = keras.Input((9, 9, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(16, 3, padding="same")(y)
    shortcut = layers.Conv2D(16, 1, strides=2)(x)
    z = layers.Activation("relu")(layers.Add()([y, shortcut]))
    w = layers.SeparableConv2D(16, 3, padding="same", activation="gelu")(z)
    w = w + z  # an identity shortcut written as an operator
    w = layers.DepthwiseConv2D(3, padding="same")(w)
    w = layers.Conv2D(12, 1, activation="swish")(w)
    w = layers.AveragePooling2D(2, padding="same")(w)
    out = layers.Dense(4)(layers.Dropout(0.3)(layers.GlobalMaxPooling2D()(w)))  # logits
    model = keras.Model(inputs, out)
    norm = model.get_layer(index=3)
    rng = np.random.default_rng(1)
    norm.moving_mean.assign(rng.normal(size=16).astype(np.float32))
    # small variances, so that Keras's epsilon (1e-3) matters: it must be carried over
    norm.moving_variance.assign(rng.uniform(0.01, 0.1, size=16).astype(np.float32))

    imported = from_keras(model)
    kinds = [layer.kind for layer in imported.network.layers]
    assert kinds == [
        "conv2d",
        "residual",
        "residual",
        "conv2d",
        "avg_pool2d",
        "global_max_pool",
        "dropout",
    ]
    first, second = imported.network.layers[1:3]
    assert first.activation == "relu"  # type: ignore[attr-defined]
    assert len(first.layers) == 4  # type: ignore[attr-defined]
    assert second.layers[0].separable  # type: ignore[attr-defined]
    assert imported.network.layers[3].separable  # the depthwise + 1x1 pair
    x = rng.random((3, 9, 9, 3), dtype=np.float32)
    expected, got = outputs(model, imported, x)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_sequence_models_with_recurrent_layers_compute_the_same() -> None:
    model = keras.Sequential(
        [
            keras.Input((7,)),
            layers.Embedding(20, 6),
            layers.Bidirectional(layers.GRU(5, return_sequences=True)),
            layers.LSTM(4, return_sequences=True),
            layers.Conv1D(6, 3, padding="same", activation="tanh"),
            layers.MaxPooling1D(2),
            layers.LayerNormalization(epsilon=1e-5),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    imported = from_keras(model)
    assert [layer.kind for layer in imported.network.layers] == [
        "embedding",
        "gru",
        "lstm",
        "conv1d",
        "max_pool1d",
        "layer_norm",
        "global_avg_pool",
    ]
    assert imported.network.head.activation == "sigmoid"
    x = np.random.default_rng(2).integers(0, 20, size=(3, 7))
    expected, got = outputs(model, imported, x)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_normalisation_epsilon_that_differs_is_noted() -> None:
    model = keras.Sequential([keras.Input((4,)), layers.LayerNormalization(), layers.Dense(2)])
    imported = from_keras(model)
    assert any("epsilon 0.001" in note for note in imported.notes)
    assert imported.network.head.activation == "none"


def test_saved_weights_initialise_a_search_trial_as_pretrained(tmp_path: object) -> None:
    model = reference_mlp(32)
    imported = from_keras(model)
    path = imported.save(tmp_path / "baseline.pt")  # type: ignore[operator]
    module = build_module(imported.network)
    recipe = Recipe(weight_init="pretrained", pretrained_path=str(path))
    summary = apply_initialisation(module, recipe, seed=0)
    assert set(summary.copied) == set(read_state_dict(path)) == set(imported.weights)
    x = np.random.default_rng(3).random((5, 10), dtype=np.float32)
    with torch.no_grad():
        got = torch.softmax(module(torch.from_numpy(x)), dim=-1).numpy()
    np.testing.assert_allclose(got, outputs(model, imported, x)[0], atol=1e-6)


def test_an_unsupported_layer_is_named_with_its_position_and_the_supported_kinds() -> None:
    model = keras.Sequential(
        [keras.Input((8,)), layers.Dense(8), layers.LeakyReLU(), layers.Dense(2)]
    )
    with pytest.raises(UnsupportedLayerError) as caught:
        from_keras(model)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert isinstance(error, ValueError)
    assert error.position == "layers[1]"
    assert "LeakyReLU" in error.layer
    assert "Dense" in error.supported
    assert str(error).startswith("from_keras: layers[1] 'leaky_re_lu")
    assert "supported layers: InputLayer, Dense" in str(error)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (layers.Conv2D(4, 3, dilation_rate=2), "dilation_rate must be 1"),
        (layers.Conv2D(4, 3, activation="elu"), "has activation 'elu'"),
        (layers.MaxPooling2D(2, data_format="channels_first"), "data_format must be"),
    ],
)
def test_unsupported_settings_say_which_and_what_was_given(layer: object, message: str) -> None:
    model = keras.Sequential([keras.Input((8, 8, 2)), layer, layers.Flatten(), layers.Dense(2)])
    with pytest.raises(UnsupportedLayerError, match=message):
        from_keras(model)


def test_a_model_without_a_known_input_shape_is_a_config_error() -> None:
    model = keras.Sequential([layers.Dense(4)])
    with pytest.raises(ConfigError, match=r"keras.Input\(\(28, 28, 1\)\)"):
        from_keras(model)
    with pytest.raises(ConfigError, match=r"must be a keras\.Model"):
        from_keras("not a model")


def test_the_last_layer_must_be_the_dense_head() -> None:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu")])
    with pytest.raises(UnsupportedLayerError, match="softmax, sigmoid or none"):
        from_keras(model)
