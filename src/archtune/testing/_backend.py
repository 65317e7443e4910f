"""The backend conformance suite: :class:`BackendConformance`."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings

from archtune._errors import ConfigError, DivergedError
from archtune._reporter import Decision, NullReporter
from archtune.arch import (
    GRU,
    LSTM,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Head,
    MaxPool2D,
    Network,
    builtin_network,
    estimate_cost,
    infer_output_shape,
    list_builtin_networks,
)
from archtune.backends._base import BaseBackend
from archtune.backends._distill import Distillation
from archtune.data import Dataset
from archtune.recipe import LRSchedule, Recipe, SchedulePoint
from archtune.testing._strategies import NETWORK_KINDS, networks

__all__ = ["BackendConformance", "StopAt"]

_CLASSIFICATION_METRICS = {"train_loss", "val_loss", "val_accuracy", "lr"}
_REGRESSION_METRICS = {"train_loss", "val_loss", "val_mse", "val_mae", "lr"}


class StopAt(NullReporter):
    """A reporter that answers STOP from epoch ``epoch`` on."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.stop_epoch = epoch

    def report(self, step: int, **metrics: float) -> Decision:
        super().report(step, **metrics)
        return Decision.STOP if step >= self.stop_epoch else Decision.CONTINUE


def _mlp(n_classes: int = 10) -> Network:
    layers = (Flatten(), Dense(32, activation="relu"), Dropout(0.1))
    return Network((8, 8, 1), layers=layers, head=Head(n_classes), name="mlp")


def _cnn() -> Network:
    layers = (
        Conv2D(8, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Conv2D(16, 3, separable=True, activation="relu"),
        Flatten(),
    )
    return Network((8, 8, 1), layers=layers, head=Head(10), name="cnn")


def _rnn() -> Network:
    layers = (LSTM(6, bidirectional=True, return_sequences=True), GRU(5))
    return Network((6, 4), layers=layers, head=Head(3), name="rnn")


def _linear_mlp() -> Network:
    """An MLP without dropout: training and eval outputs are the same function."""
    layers = (Flatten(), Dense(16, activation="relu"))
    return Network((8, 8, 1), layers=layers, head=Head(10), name="mlp-no-dropout")


_EXPORTED = {"mlp": _mlp, "cnn": _cnn, "rnn": _rnn}
_STATED = {"mlp": _mlp, "cnn": _cnn, "rnn": _rnn}


def _torch_state_shapes(network: Network) -> list[tuple[str, tuple[int, ...]]]:
    """``build_module(network).state_dict()`` 's names and shapes, in order."""
    pytest.importorskip("torch")
    from archtune.backends.torch import build_module

    return [(k, tuple(v.shape)) for k, v in build_module(network).state_dict().items()]


def _soft_loss(
    logits: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    teacher: npt.NDArray[Any],
    *,
    temperature: float,
    alpha: float,
    label_smoothing: float,
) -> float:
    """The distillation loss in NumPy (float64), averaged over the samples."""

    def log_softmax(z: npt.NDArray[Any]) -> npt.NDArray[Any]:
        z = z - z.max(axis=1, keepdims=True)
        return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))

    s, t = logits.astype(np.float64), teacher.astype(np.float64)
    p_t = log_softmax(t / temperature)
    kl = (np.exp(p_t) * (p_t - log_softmax(s / temperature))).sum(axis=1)
    k = s.shape[1]
    target = np.eye(k)[labels.astype(np.int64)] * (1 - label_smoothing) + label_smoothing / k
    ce = -(target * log_softmax(s)).sum(axis=1)
    return float(np.mean(alpha * temperature**2 * kl + (1 - alpha) * ce))


def _rows(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "epoch_time"} for row in history]


def _inputs(network: Network, n: int, seed: int) -> npt.NDArray[Any]:
    rng = np.random.default_rng(seed)
    if network.takes_token_ids:
        vocab = int(network.layers[0].vocab_size)  # type: ignore[attr-defined]
        return rng.integers(0, vocab, (n, *network.input_shape))
    return rng.standard_normal((n, *network.input_shape)).astype(np.float32)


class BackendConformance:
    """The tests every backend passes; subclass it and override the ``backend`` fixture.

    Class attributes tune the suite for a slow backend; the defaults are what the PyTorch
    and Keras backends meet.

    Attributes:
        n_examples: Hypothesis examples per network family for the build tests.
        min_accuracy: The validation accuracy a small MLP and CNN reach on ``digits``.
        onnx_atol: How far ONNX Runtime's outputs may be from :meth:`BaseBackend.predict`.
    """

    n_examples: ClassVar[int] = 25
    min_accuracy: ClassVar[float] = 0.85
    onnx_atol: ClassVar[float] = 1e-4

    @pytest.fixture
    def backend(self) -> BaseBackend:
        """The backend under test; subclasses override this fixture."""
        raise NotImplementedError("override the `backend` fixture in the subclass")

    @pytest.fixture(scope="class")
    @classmethod
    def digits(cls) -> Dataset:
        """scikit-learn's 8x8 digits, split 60/20/20 with seed 0."""
        pytest.importorskip("sklearn")
        from archtune.data import load_dataset

        return load_dataset("digits", seed=0)

    @pytest.fixture(scope="class")
    @classmethod
    def diabetes(cls) -> Dataset:
        """scikit-learn's diabetes regression data, split with seed 0."""
        pytest.importorskip("sklearn")
        from archtune.data import load_dataset

        return load_dataset("diabetes", seed=0)

    # --- the interface -------------------------------------------------------------------

    def test_declares_its_name_and_file_suffix(self, backend: BaseBackend) -> None:
        assert isinstance(backend, BaseBackend)
        assert isinstance(backend.name, str)
        assert backend.name
        assert backend.native_suffix.startswith(".")

    # --- building ------------------------------------------------------------------------

    @pytest.mark.parametrize("family", NETWORK_KINDS)
    def test_generated_networks_have_the_analytic_params_and_output_shape(
        self, backend: BaseBackend, family: str
    ) -> None:
        self._check_generated(backend, family, self.n_examples)

    @pytest.mark.slow
    @pytest.mark.parametrize("family", NETWORK_KINDS)
    def test_many_generated_networks(self, backend: BaseBackend, family: str) -> None:
        self._check_generated(backend, family, 150)

    @staticmethod
    def _check_generated(backend: BaseBackend, family: str, n_examples: int) -> None:
        @settings(
            max_examples=n_examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(networks(families=(family,)))
        def check(network: Network) -> None:
            model = backend.build(network, seed=0)
            assert backend.count_params(model) == estimate_cost(network).params
            with warnings.catch_warnings():
                # Attention over a single position: Keras warns that its softmax is constant.
                warnings.filterwarnings("ignore", "You are using a softmax over axis")
                out = backend.predict(model, _inputs(network, 2, seed=0))
            assert out.shape == (2, *infer_output_shape(network))
            assert np.isfinite(out).all()

        check()

    @pytest.mark.parametrize("name", list_builtin_networks())
    def test_reference_networks_have_their_documented_params(
        self, backend: BaseBackend, name: str
    ) -> None:
        network = builtin_network(name)
        assert backend.count_params(backend.build(network)) == estimate_cost(network).params

    def test_the_same_seed_builds_the_same_weights(self, backend: BaseBackend) -> None:
        network = _cnn()
        x = _inputs(network, 4, seed=0)
        first = backend.predict(backend.build(network, seed=1), x)
        np.testing.assert_array_equal(backend.predict(backend.build(network, seed=1), x), first)
        assert not np.allclose(backend.predict(backend.build(network, seed=2), x), first)

    # --- training ------------------------------------------------------------------------

    @pytest.mark.parametrize("make", [_mlp, _cnn], ids=["mlp", "cnn"])
    def test_small_networks_learn_digits(
        self, backend: BaseBackend, digits: Dataset, make: Any
    ) -> None:
        recipe = Recipe(optimizer="adam", lr=3e-3, epochs=3, batch_size=32)
        result = backend.fit(backend.build(make(), seed=0), digits, recipe, seed=0)
        assert result.metrics["val_accuracy"] >= self.min_accuracy
        assert result.metrics["test_accuracy"] >= self.min_accuracy - 0.05
        assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
        assert result.epochs_run == 3
        assert not result.stopped_early
        assert result.n_steps == 3 * math.ceil(digits.n_train / 32)

    def test_reports_every_epoch_with_the_metric_names(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        reporter = NullReporter()
        recipe = Recipe(lr=0.01, epochs=3, schedule="cosine", warmup_epochs=0.5)
        result = backend.fit(backend.build(_mlp()), digits, recipe, reporter=reporter)
        assert [step for step, _ in reporter.history] == [1, 2, 3]
        schedule = LRSchedule(recipe, steps_per_epoch=math.ceil(digits.n_train / 32))
        for epoch, ((_, metrics), row) in enumerate(
            zip(reporter.history, result.history, strict=True), start=1
        ):
            assert set(metrics) == _CLASSIFICATION_METRICS
            assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
            assert metrics == {k: row[k] for k in metrics}
            assert row["epoch"] == epoch
            assert 0.0 <= metrics["val_accuracy"] <= 1.0
            assert metrics["lr"] == pytest.approx(
                schedule.lr_at(epoch * schedule.steps_per_epoch - 1)
            )
        assert len(result.epoch_times) == 3
        assert all(t > 0 for t in result.epoch_times)
        assert set(result.metrics) == _CLASSIFICATION_METRICS | {"test_loss", "test_accuracy"}

    def test_a_piecewise_schedule_sets_each_epochs_rate(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        points = (
            SchedulePoint(0, lr=0.05, momentum=0.9),
            SchedulePoint(1, lr=0.02),
            SchedulePoint(2, lr=0.01, momentum=0.9),  # the same again: Keras takes it too
        )
        recipe = Recipe(optimizer="sgd", epochs=3, schedule="piecewise", piecewise=points)
        result = backend.fit(backend.build(_mlp()), digits, recipe, seed=0)
        assert [row["lr"] for row in result.history] == [0.05, 0.02, 0.01]
        assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]

    def test_regression_reports_mse_and_mae(self, backend: BaseBackend, diabetes: Dataset) -> None:
        network = Network(
            (10,), layers=(Dense(16, activation="relu"),), head=Head(1, activation="none")
        )
        reporter = NullReporter()
        result = backend.fit(
            backend.build(network), diabetes, Recipe(lr=0.01, epochs=2), reporter=reporter
        )
        assert [set(metrics) for _, metrics in reporter.history] == [_REGRESSION_METRICS] * 2
        expected = _REGRESSION_METRICS | {"test_loss", "test_mse", "test_mae"}
        assert set(result.metrics) == expected
        assert result.metrics["val_mse"] > result.metrics["val_loss"]  # in the target's units

    def test_a_stop_after_epoch_two_is_honoured(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        reporter = StopAt(2)
        result = backend.fit(backend.build(_mlp()), digits, Recipe(epochs=6), reporter=reporter)
        assert [step for step, _ in reporter.history] == [1, 2]
        assert result.epochs_run == 2
        assert len(result.history) == 2
        assert result.stopped_early
        assert result.n_steps == 2 * math.ceil(digits.n_train / 32)

    def test_a_stop_at_the_last_epoch_is_not_early(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        result = backend.fit(backend.build(_mlp()), digits, Recipe(epochs=2), reporter=StopAt(2))
        assert result.epochs_run == 2
        assert not result.stopped_early

    def test_full_batch_gd_takes_one_step_per_epoch(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        recipe = Recipe(optimizer="gd", lr=0.5, epochs=3)
        result = backend.fit(backend.build(_mlp()), digits, recipe, seed=0)
        assert result.n_steps == 3
        assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]

    def test_a_nan_loss_raises_diverged_error(self, backend: BaseBackend, digits: Dataset) -> None:
        recipe = Recipe(optimizer="sgd", lr=1e9, epochs=5)
        reporter = NullReporter()
        with pytest.raises(DivergedError) as info:
            backend.fit(backend.build(_mlp()), digits, recipe, reporter=reporter, seed=0)
        assert isinstance(info.value, FloatingPointError)
        assert 1 <= info.value.epoch <= recipe.epochs
        assert 0 <= info.value.step < math.ceil(digits.n_train / recipe.batch_size)
        assert not math.isfinite(info.value.loss)
        assert info.value.lr == pytest.approx(1e9)
        # Epochs before the divergence were reported; the diverged one was not.
        assert [step for step, _ in reporter.history] == list(range(1, info.value.epoch))

    def test_the_same_seed_gives_the_same_metrics(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        recipe = Recipe(lr=3e-3, epochs=2, weight_init="he_uniform", bias_init="zeros")

        def history(seed: int, model: Any = None) -> list[dict[str, float]]:
            model = backend.build(_mlp(), seed=7) if model is None else model
            result = backend.fit(model, digits, recipe, seed=seed)
            return [{k: v for k, v in row.items() if k != "epoch_time"} for row in result.history]

        model = backend.build(_mlp(), seed=7)
        first = history(3, model)
        assert history(3) == first
        assert history(3, model) == first  # training the same model again repeats the run
        assert history(4) != first

    # --- files ---------------------------------------------------------------------------

    def test_save_then_load_gives_the_same_predictions(
        self, backend: BaseBackend, digits: Dataset, tmp_path: Path
    ) -> None:
        model = backend.build(_cnn(), seed=0)
        backend.fit(model, digits, Recipe(epochs=1), seed=0)  # moves batch-norm statistics
        path = tmp_path / f"model{backend.native_suffix}"
        backend.save(model, path)
        loaded = backend.load(path)
        x = digits.x_test[:16]
        np.testing.assert_allclose(backend.predict(loaded, x), backend.predict(model, x))
        assert backend.count_params(loaded) == backend.count_params(model)

    @pytest.mark.parametrize("name", list(_EXPORTED))
    def test_onnx_export_gives_the_outputs_of_predict(
        self, backend: BaseBackend, name: str, tmp_path: Path
    ) -> None:
        onnxruntime = pytest.importorskip("onnxruntime")
        network = _EXPORTED[name]()
        model = backend.build(network, seed=0)
        path = tmp_path / f"{name}.onnx"
        backend.export_onnx(model, path, input_shape=network.input_shape)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (graph_input,) = session.get_inputs()
        assert graph_input.shape[1:] == list(network.input_shape)
        x = _inputs(network, 5, seed=1)  # another batch size than any example the export saw
        (got,) = session.run(None, {graph_input.name: x})
        np.testing.assert_allclose(got, backend.predict(model, x), rtol=0, atol=self.onnx_atol)

    def test_measures_latency_per_batch_size(self, backend: BaseBackend) -> None:
        network = _mlp()
        latency = backend.measure_latency(
            backend.build(network), network.input_shape, batch_sizes=(1, 8)
        )
        assert set(latency) == {1, 8}
        assert all(math.isfinite(ms) and ms > 0 for ms in latency.values())

    # --- state: weights and buffers under PyTorch's names ----------------------------------

    @pytest.mark.parametrize("name", list(_STATED))
    def test_get_state_is_named_and_shaped_as_the_torch_state_dict(
        self, backend: BaseBackend, name: str
    ) -> None:
        network = _STATED[name]()
        state = backend.get_state(backend.build(network, seed=0))
        assert [(k, v.shape) for k, v in state.items()] == _torch_state_shapes(network)
        assert all(isinstance(v, np.ndarray) for v in state.values())
        assert all(v.dtype == np.float32 for k, v in state.items() if "num_batches" not in k)

    @pytest.mark.parametrize("family", NETWORK_KINDS)
    def test_generated_networks_state_moves_between_models(
        self, backend: BaseBackend, family: str
    ) -> None:
        """Every layer kind: PyTorch's names and shapes, and set_state of one model's state
        into another gives its outputs (batch-norm statistics included)."""

        @settings(
            max_examples=4,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(networks(families=(family,)))
        def check(network: Network) -> None:
            source = backend.build(network, seed=1)
            state = backend.get_state(source)
            assert [(k, v.shape) for k, v in state.items()] == _torch_state_shapes(network)
            rng = np.random.default_rng(0)
            for key in state:
                if key.endswith(("running_mean", "running_var")):
                    state[key] = (state[key] + rng.random(state[key].shape)).astype(np.float32)
            backend.set_state(source, state, strict=True)
            target = backend.build(network, seed=2)
            backend.set_state(target, backend.get_state(source), strict=True)
            x = _inputs(network, 3, seed=0)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "You are using a softmax over axis")
                np.testing.assert_allclose(
                    backend.predict(target, x), backend.predict(source, x), rtol=0, atol=1e-6
                )
            for key, value in backend.get_state(target).items():
                if "num_batches" not in key:
                    np.testing.assert_array_equal(value, state[key])

        check()

    def test_a_partial_set_state_changes_only_its_entries(self, backend: BaseBackend) -> None:
        model = backend.build(_cnn(), seed=0)
        before = backend.get_state(model)
        new_bias = np.arange(10, dtype=np.float32)
        mean_key = next(k for k in before if k.endswith("running_mean"))
        new_mean = np.full(before[mean_key].shape, 0.5, dtype=np.float32)
        backend.set_state(model, {"head.bias": new_bias, mean_key: new_mean})
        after = backend.get_state(model)
        assert list(after) == list(before)
        np.testing.assert_array_equal(after["head.bias"], new_bias)
        np.testing.assert_array_equal(after[mean_key], new_mean)
        for key in before:
            if key not in ("head.bias", mean_key):
                np.testing.assert_array_equal(after[key], before[key])

    def test_set_state_rejects_unknown_names_bad_shapes_and_missing_entries(
        self, backend: BaseBackend
    ) -> None:
        model = backend.build(_mlp(), seed=0)
        before = backend.get_state(model)
        with pytest.raises(ConfigError, match=r"'head\.weight'.*\(10, 32\).*\(10, 31\)") as info:
            backend.set_state(model, {"head.weight": np.zeros((10, 31), np.float32)})
        assert "\n" not in str(info.value)
        with pytest.raises(ConfigError, match=r"'layers\.9\.weight'") as info:
            backend.set_state(model, {"layers.9.weight": np.zeros(3, np.float32)})
        assert "\n" not in str(info.value)
        with pytest.raises(ConfigError, match="strict") as info:
            backend.set_state(model, {"head.bias": before["head.bias"]}, strict=True)
        assert "\n" not in str(info.value)
        after = backend.get_state(model)
        for key in before:  # a refused state changes nothing
            np.testing.assert_array_equal(after[key], before[key])

    def test_save_then_load_keeps_the_state(self, backend: BaseBackend, tmp_path: Path) -> None:
        model = backend.build(_cnn(), seed=0)
        path = tmp_path / f"model{backend.native_suffix}"
        backend.save(model, path)
        loaded = backend.load(path)
        state = backend.get_state(model)
        assert list(backend.get_state(loaded)) == list(state)
        backend.set_state(loaded, {"head.bias": np.ones(10, np.float32)})
        np.testing.assert_array_equal(backend.get_state(loaded)["head.bias"], np.ones(10))

    # --- evaluation ----------------------------------------------------------------------

    @pytest.mark.parametrize("split", ["val", "test"])
    def test_evaluate_gives_the_metrics_of_predict(
        self, backend: BaseBackend, digits: Dataset, split: str
    ) -> None:
        model = backend.build(_mlp(), seed=0)
        metrics = backend.evaluate(model, digits, split=split)  # type: ignore[arg-type]
        assert set(metrics) == {f"{split}_loss", f"{split}_accuracy"}
        x, y = digits.split(split)  # type: ignore[arg-type]
        logits = backend.predict(model, x)
        assert metrics[f"{split}_accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
        expected = _soft_loss(logits, y, logits, temperature=1.0, alpha=0.0, label_smoothing=0)
        assert metrics[f"{split}_loss"] == pytest.approx(expected, rel=1e-5)

    def test_evaluate_a_regression_gives_mse_and_mae(
        self, backend: BaseBackend, diabetes: Dataset
    ) -> None:
        network = Network((10,), layers=(Dense(8),), head=Head(1, activation="none"))
        metrics = backend.evaluate(backend.build(network), diabetes)
        assert set(metrics) == {"test_loss", "test_mse", "test_mae"}
        assert all(math.isfinite(v) for v in metrics.values())

    # --- training from given weights, distillation -----------------------------------------

    def test_keep_weights_trains_the_loaded_weights(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        recipe = Recipe(optimizer="sgd", lr=1e-9, epochs=1, weight_init="he_uniform")
        state = backend.get_state(backend.build(_mlp(), seed=1))
        x = digits.x_val[:32]
        kept = backend.build(_mlp(), seed=2)
        backend.set_state(kept, state)
        loaded = backend.predict(kept, x)
        backend.fit(kept, digits, recipe, seed=3, keep_weights=True)
        np.testing.assert_allclose(backend.predict(kept, x), loaded, rtol=0, atol=1e-4)
        redrawn = backend.build(_mlp(), seed=2)
        backend.set_state(redrawn, state)
        backend.fit(redrawn, digits, recipe, seed=3, keep_weights=False)
        assert not np.allclose(backend.predict(redrawn, x), loaded, atol=1e-2)

    def test_distilling_the_models_own_logits_costs_nothing(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        model = backend.build(_linear_mlp(), seed=0)
        teacher = backend.predict(model, digits.x_train)
        assert teacher.shape == (digits.n_train, 10)
        distill = Distillation(teacher, temperature=2.0, alpha=1.0)
        recipe = Recipe(optimizer="sgd", lr=1e-9, epochs=2, batch_size=128)
        result = backend.fit(model, digits, recipe, seed=0, keep_weights=True, distill=distill)
        assert result.epochs_run == 2
        # Zero up to rounding: a KL divergence computed in float32 can land a hair below 0.
        assert all(abs(row["train_loss"]) < 1e-5 for row in result.history)

    @pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0])
    def test_the_distillation_loss_is_the_documented_mix(
        self, backend: BaseBackend, digits: Dataset, alpha: float
    ) -> None:
        student = backend.build(_linear_mlp(), seed=0)
        teacher = backend.predict(backend.build(_linear_mlp(), seed=1), digits.x_train) * 3
        logits = backend.predict(student, digits.x_train)
        expected = _soft_loss(
            logits, digits.y_train, teacher, temperature=2.5, alpha=alpha, label_smoothing=0.1
        )
        recipe = Recipe(optimizer="gd", lr=1e-9, epochs=1, label_smoothing=0.1)
        distill = Distillation(teacher, temperature=2.5, alpha=alpha)
        result = backend.fit(student, digits, recipe, keep_weights=True, distill=distill)
        assert result.history[0]["train_loss"] == pytest.approx(expected, rel=1e-4)

    def test_distillation_with_alpha_zero_is_plain_training(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        recipe = Recipe(optimizer="adam", lr=3e-3, epochs=2, batch_size=64)
        noise = np.random.default_rng(0).standard_normal((digits.n_train, 10))
        distill = Distillation(noise.astype(np.float32), temperature=3.0, alpha=0.0)
        plain = backend.fit(backend.build(_mlp(), seed=7), digits, recipe, seed=5)
        mixed = backend.fit(backend.build(_mlp(), seed=7), digits, recipe, seed=5, distill=distill)
        assert _rows(mixed.history) == _rows(plain.history)

    def test_a_teacher_that_knows_the_labels_teaches_them(
        self, backend: BaseBackend, digits: Dataset
    ) -> None:
        """Soft targets only (alpha=1), shuffled batches: each batch must take its own rows."""
        teacher = 8.0 * np.eye(10, dtype=np.float32)[digits.y_train.astype(np.int64)]
        distill = Distillation(teacher, temperature=1.0, alpha=1.0)
        recipe = Recipe(optimizer="adam", lr=3e-3, epochs=3, batch_size=32)
        result = backend.fit(backend.build(_mlp(), seed=0), digits, recipe, distill=distill)
        assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
        assert result.metrics["val_accuracy"] >= self.min_accuracy

    @pytest.mark.parametrize(
        ("make", "match"),
        [
            (lambda n: Distillation(np.zeros((n, 10)), temperature=0.0), "temperature"),
            (lambda n: Distillation(np.zeros((n, 10)), alpha=1.5), "alpha"),
            (lambda n: Distillation(np.zeros((n, 10)), alpha=-0.1), "alpha"),
            (lambda n: Distillation(np.full((n, 10), np.nan)), "finite"),
            (lambda n: Distillation(np.zeros((n - 1, 10))), r"shape \(\d+, 10\)"),
            (lambda n: Distillation(np.zeros((n, 9))), r"shape \(\d+, 10\)"),
            (lambda n: Distillation(np.zeros(n)), "shape"),
        ],
        ids=["temperature", "alpha-high", "alpha-low", "nan", "rows", "classes", "rank"],
    )
    def test_a_bad_distillation_raises_config_error(
        self, backend: BaseBackend, digits: Dataset, make: Any, match: str
    ) -> None:
        model = backend.build(_mlp(), seed=0)
        with pytest.raises(ConfigError, match=match) as info:
            backend.fit(model, digits, Recipe(epochs=1), distill=make(digits.n_train))
        assert "\n" not in str(info.value)

    def test_distilling_a_regression_raises_config_error(
        self, backend: BaseBackend, diabetes: Dataset
    ) -> None:
        network = Network((10,), layers=(Dense(8),), head=Head(1, activation="none"))
        distill = Distillation(np.zeros((diabetes.n_train, 1), np.float32))
        with pytest.raises(ConfigError, match="classification"):
            backend.fit(backend.build(network), diabetes, Recipe(epochs=1), distill=distill)
