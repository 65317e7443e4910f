"""The Keras backend's training parts: recipe initialisation, optimizers, schedules, files."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from archtune._errors import ConfigError  # noqa: E402
from archtune._reporter import Decision, NullReporter  # noqa: E402
from archtune.arch import (  # noqa: E402
    LSTM,
    Conv2D,
    Dense,
    Embedding,
    Flatten,
    Head,
    Network,
)
from archtune.backends.keras import (  # noqa: E402
    KerasBackend,
    apply_initialisation,
    build_model,
    evaluate,
    fit,
    make_optimizer,
)
from archtune.backends.keras._optim import L2SGD  # noqa: E402
from archtune.data import Dataset, load_dataset  # noqa: E402
from archtune.recipe import OPTIMIZERS, SCHEDULES, LRSchedule, Recipe  # noqa: E402

torch.set_num_threads(1)

MLP = Network((8, 8, 1), layers=(Flatten(), Dense(16, activation="relu")), head=Head(10))


@pytest.fixture(scope="module")
def digits() -> Dataset:
    pytest.importorskip("sklearn")
    return load_dataset("digits", seed=0)


def _value(variable: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable))


def _variable(model: Any, path: str) -> Any:
    return next(v for v in model.variables if v.path == path)


# --- optimizers and schedules ---------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains(digits: Dataset, optimizer: str) -> None:
    lr = {"gd": 0.5, "sgd": 0.05, "momentum": 0.05, "nesterov": 0.05}.get(optimizer, 3e-3)
    recipe = Recipe(optimizer=optimizer, lr=lr, epochs=2, weight_decay=1e-4, grad_clip_norm=5.0)
    result = fit(build_model(MLP), digits, recipe, seed=0)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert all(math.isfinite(v) for v in result.metrics.values())


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_optimizer_follows_the_schedule(digits: Dataset, schedule: str) -> None:
    points = [{"epoch": 0, "lr": 0.05}, {"epoch": 1, "lr": 0.02}, {"epoch": 2, "lr": 0.01}]
    recipe = Recipe(
        optimizer="momentum", lr=0.05, epochs=3, schedule=schedule,
        warmup_epochs=0.0 if schedule == "piecewise" else 0.5,
        piecewise=points if schedule == "piecewise" else None,
        step_size=1, plateau_patience=1, plateau_threshold=0.9,
    )  # fmt: skip
    model = build_model(MLP)
    applied: list[float] = []

    class Spy(NullReporter):
        def report(self, step: int, **metrics: float) -> Decision:
            applied.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
            return super().report(step, **metrics)

    reporter = Spy()
    fit(model, digits, recipe, reporter=reporter, seed=0)
    reported = [metrics["lr"] for _, metrics in reporter.history]
    assert applied == pytest.approx(reported, rel=1e-6)
    spe = math.ceil(digits.n_train / 32)
    if schedule == "piecewise":
        assert reported == [0.05, 0.02, 0.01]
    if schedule != "plateau":
        expected = LRSchedule(recipe, steps_per_epoch=spe)
        assert reported == pytest.approx([expected.lr_at(e * spe - 1) for e in (1, 2, 3)])
    else:  # epoch 1 sets the best loss; a 90% improvement never follows, so the rate falls
        assert reported == pytest.approx([0.05, 0.05, 0.005])


def _zero_grads(model: Any) -> list[Any]:
    return [keras.ops.zeros(v.shape) for v in model.trainable_variables]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_l2_weight_decay_adds_wd_times_the_weight_to_its_gradient(optimizer: str) -> None:
    decayed, plain = build_model(MLP, seed=0), build_model(MLP, seed=0)
    recipe = Recipe(optimizer=optimizer, lr=0.1, weight_decay=0.5)
    opt = make_optimizer(decayed, recipe)
    assert isinstance(opt, L2SGD) == (optimizer in ("sgd", "momentum"))
    opt.apply(_zero_grads(decayed), decayed.trainable_variables)
    # The same step of the plain optimizer, given the L2 gradients explicitly:
    grads = [
        keras.ops.zeros(v.shape)
        if "bias" in v.name
        else keras.ops.convert_to_tensor(0.5 * _value(v))
        for v in plain.trainable_variables
    ]
    make_optimizer(plain, recipe.replace(weight_decay=0.0)).apply(grads, plain.trainable_variables)
    for a, b in zip(decayed.trainable_variables, plain.trainable_variables, strict=True):
        np.testing.assert_allclose(_value(a), _value(b), rtol=1e-6, atol=1e-7)
    kernel = _value(_variable(decayed, "layers_1/kernel"))
    assert not np.allclose(kernel, _value(_variable(build_model(MLP, seed=0), "layers_1/kernel")))


def test_adamw_decays_weights_but_not_biases() -> None:
    model = build_model(MLP, seed=0)
    kernel, bias = _variable(model, "layers_1/kernel"), _variable(model, "layers_1/bias")
    bias.assign(np.ones(bias.shape, dtype="float32"))
    before = _value(kernel)
    opt = make_optimizer(model, Recipe(optimizer="adamw", lr=0.1, weight_decay=0.5))
    opt.apply(_zero_grads(model), model.trainable_variables)
    np.testing.assert_allclose(_value(kernel), before * (1 - 0.1 * 0.5), rtol=1e-5)
    np.testing.assert_array_equal(_value(bias), 1.0)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_gradients_are_clipped_to_the_global_norm(weight_decay: float) -> None:
    model = build_model(MLP, seed=0)
    before = [_value(v) for v in model.trainable_variables]
    recipe = Recipe(optimizer="sgd", lr=1.0, grad_clip_norm=1.0, weight_decay=weight_decay)
    opt = make_optimizer(model, recipe)
    grads = [keras.ops.full(v.shape, 100.0) for v in model.trainable_variables]
    opt.apply(grads, model.trainable_variables)
    moved = [_value(v) - b for v, b in zip(model.trainable_variables, before, strict=True)]
    # The step is the clipped gradient (norm 1) plus the small L2 term.
    norm = math.sqrt(sum(float(np.square(m).sum()) for m in moved))
    assert norm == pytest.approx(1.0, abs=0.05)


def test_label_smoothing_raises_the_training_loss(digits: Dataset) -> None:
    def train_loss(smoothing: float) -> float:
        recipe = Recipe(lr=3e-3, epochs=3, label_smoothing=smoothing)
        return fit(build_model(MLP), digits, recipe, seed=0).metrics["train_loss"]

    # Smoothed targets keep a floor of entropy in the loss.
    assert train_loss(0.2) > train_loss(0.0) + 0.2


def test_piecewise_first_values_train_as_the_recipes_own_fields(digits: Dataset) -> None:
    values = {"momentum": 0.8, "weight_decay": 1e-3, "label_smoothing": 0.1}
    plain = Recipe(optimizer="momentum", lr=0.05, epochs=2, **values)
    points = [{"epoch": 0, "lr": 0.05, **values}, {"epoch": 1, "lr": 0.05, "momentum": 0.8}]
    replayed = Recipe(optimizer="momentum", epochs=2, schedule="piecewise", piecewise=points)
    a, b = build_model(MLP), build_model(MLP)
    first, second = fit(a, digits, plain, seed=0), fit(b, digits, replayed, seed=0)
    assert b.optimizer.momentum == 0.8
    assert b.optimizer.l2 == 1e-3
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert first.metrics == second.metrics


def test_piecewise_changes_other_than_the_rate_are_refused(digits: Dataset) -> None:
    points = [{"epoch": 0, "lr": 0.05}, {"epoch": 1, "lr": 0.01, "label_smoothing": 0.1}]
    recipe = Recipe(optimizer="sgd", epochs=2, schedule="piecewise", piecewise=points)
    with pytest.raises(ConfigError) as info:
        fit(build_model(MLP), digits, recipe, seed=0)
    assert str(info.value) == (
        "recipe.piecewise[1].label_smoothing changes label_smoothing during training, which "
        "backend keras cannot (only lr may change after epoch 0); set it at epoch 0 only, or "
        "use backend torch"
    )


def test_a_wrong_output_width_is_a_config_error(digits: Dataset) -> None:
    network = Network((8, 8, 1), layers=(Flatten(),), head=Head(3))
    with pytest.raises(ConfigError, match=r"logits of shape \(batch, 10\)"):
        fit(build_model(network), digits, Recipe(epochs=1))


def test_evaluate_names_the_split(digits: Dataset) -> None:
    model = build_model(MLP)
    assert set(evaluate(model, digits, split="val")) == {"val_loss", "val_accuracy"}


# --- initialisation -------------------------------------------------------------------------


def _init(model: Any, **fields: Any) -> Any:
    return apply_initialisation(model, Recipe(**fields), seed=0)


@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        ("he_normal", math.sqrt(2 / 64)),
        ("glorot_normal", math.sqrt(2 / (64 + 256))),
        ("lecun_normal", math.sqrt(1 / 64)),
        ("he_uniform", math.sqrt(6 / 64) / math.sqrt(3)),
        ("glorot_uniform", math.sqrt(6 / (64 + 256)) / math.sqrt(3)),
        ("normal", 0.05),
        ("uniform", 0.05 / math.sqrt(3)),
    ],
)
def test_weight_schemes_draw_with_pytorch_fans(scheme: str, expected_std: float) -> None:
    network = Network((64,), layers=(Dense(256),), head=Head(2))
    model = build_model(network)
    summary = _init(model, weight_init=scheme)
    assert summary.weights == ("layers_0/kernel", "head/kernel")
    assert float(_value(_variable(model, "layers_0/kernel")).std()) == pytest.approx(
        expected_std, rel=0.05
    )


def test_fans_of_depthwise_kernels_and_embeddings_follow_pytorch() -> None:
    network = Network(
        (6,),
        layers=(Embedding(50, dim=200), LSTM(4)),
        head=Head(2),
    )
    model = build_model(network)
    _init(model, weight_init="he_uniform")
    # PyTorch's embedding weight (50, 200) has fan_in 200.
    limit = math.sqrt(6 / 200)
    embeddings = _value(_variable(model, "layers_0/embeddings"))
    assert np.abs(embeddings).max() <= limit
    assert np.abs(embeddings).max() > 0.95 * limit
    image = Network((9, 9, 40), layers=(Conv2D(4, 3, separable=True),), head=Head(2))
    model = build_model(image)
    _init(model, weight_init="he_uniform")
    # PyTorch's depthwise weight (40, 1, 3, 3) has fan_in 9, not 9 * 40.
    depthwise = _value(_variable(model, "layers_0/depthwise_kernel"))
    assert np.abs(depthwise).max() == pytest.approx(math.sqrt(6 / 9), rel=0.05)


def test_orthogonal_weights_have_orthonormal_columns() -> None:
    model = build_model(Network((64,), layers=(Dense(32),), head=Head(2)))
    _init(model, weight_init="orthogonal", init_gain=2.0)
    kernel = _value(_variable(model, "layers_0/kernel"))
    np.testing.assert_allclose(kernel.T @ kernel, 4.0 * np.eye(32), atol=1e-4)


def test_constant_weights_warn() -> None:
    model = build_model(MLP)
    with pytest.warns(UserWarning, match="identical"):
        _init(model, weight_init="constant", init_value=0.25)
    np.testing.assert_array_equal(_value(_variable(model, "head/kernel")), 0.25)


def test_default_init_is_redrawn_from_the_seed_and_keep_keeps() -> None:
    model = build_model(MLP, seed=0)
    apply_initialisation(model, Recipe(), seed=5)
    first = [_value(v) for v in model.weights]
    apply_initialisation(model, Recipe(), seed=5)
    for a, b in zip(first, model.weights, strict=True):
        np.testing.assert_array_equal(a, _value(b))
    apply_initialisation(model, Recipe(weight_init="keep"), seed=6)
    np.testing.assert_array_equal(first[0], _value(model.weights[0]))
    apply_initialisation(model, Recipe(), seed=6)
    assert not np.array_equal(first[0], _value(model.weights[0]))


def test_bias_inits(digits: Dataset) -> None:
    network = Network((8, 6), layers=(LSTM(4), Dense(8)), head=Head(10))
    model = build_model(network)
    summary = _init(model, bias_init="constant", bias_value=0.5)
    assert "layers_0/cell/recurrent_bias" in summary.biases
    for variable in model.trainable_variables:
        if "bias" in variable.name:
            np.testing.assert_array_equal(_value(variable), 0.5)
    summary = apply_initialisation(model, Recipe(bias_init="mean"), seed=0, dataset=digits)
    assert summary.output_bias == "head/bias"
    head = _value(_variable(model, "head/bias"))
    prior = np.bincount(digits.y_train, minlength=10) / digits.n_train
    np.testing.assert_allclose(np.exp(head) / np.exp(head).sum(), prior, atol=2e-3)
    np.testing.assert_array_equal(_value(_variable(model, "layers_1/bias")), 0.0)


def test_pretrained_copies_matching_variables(tmp_path: Path) -> None:
    source = build_model(MLP, seed=1)
    path = tmp_path / "baseline.keras"
    KerasBackend().save(source, path)
    other_head = Network(MLP.input_shape, layers=MLP.layers, head=Head(3))
    target = build_model(other_head, seed=2)
    summary = _init(target, weight_init="pretrained", pretrained_path=str(path))
    assert set(summary.copied) == {"layers_1/kernel", "layers_1/bias"}
    np.testing.assert_array_equal(
        _value(_variable(target, "layers_1/kernel")), _value(_variable(source, "layers_1/kernel"))
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_initialisation(
            target, Recipe(weight_init="pretrained"), seed=0, pretrained_weights={}
        )
    assert any("no variable" in str(w.message) for w in caught)


# --- files ----------------------------------------------------------------------------------


def test_a_model_trained_with_l2_decay_saves_and_loads(digits: Dataset, tmp_path: Path) -> None:
    backend = KerasBackend()
    model = build_model(MLP)
    fit(model, digits, Recipe(optimizer="momentum", lr=0.05, weight_decay=1e-3, epochs=1))
    path = tmp_path / "model.keras"
    backend.save(model, path)
    loaded = backend.load(path)
    assert type(loaded.optimizer).__name__ == "L2SGD"
    np.testing.assert_allclose(
        backend.predict(loaded, digits.x_val), backend.predict(model, digits.x_val)
    )


def test_save_and_load_errors(tmp_path: Path) -> None:
    backend = KerasBackend()
    with pytest.raises(ConfigError, match=r"must end in '\.keras'"):
        backend.save(build_model(MLP), tmp_path / "model.h5")
    with pytest.raises(ConfigError, match="does not exist"):
        backend.load(tmp_path / "missing.keras")
    (tmp_path / "junk.keras").write_text("not a model")
    corrupt = r"junk\.keras' is corrupt or of another format: a \.keras file is a zip archive"
    with pytest.raises(ConfigError, match=corrupt):
        backend.load(tmp_path / "junk.keras")
