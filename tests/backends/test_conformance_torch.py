"""The PyTorch backend passes the backend conformance suite; TorchScript and ``.pt`` files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from archtune._errors import ConfigError  # noqa: E402
from archtune.arch import (  # noqa: E402
    Conv2D,
    Embedding,
    Flatten,
    Head,
    Network,
    PositionEmbedding,
    TransformerBlock,
)
from archtune.backends import BaseBackend, get_backend  # noqa: E402
from archtune.backends.torch import TorchBackend, save_checkpoint  # noqa: E402
from archtune.testing import BackendConformance  # noqa: E402

torch.set_num_threads(1)

TOKENS = Network(
    (5,),
    layers=(Embedding(11, dim=8), PositionEmbedding(), TransformerBlock(8, n_heads=2, d_ff=12)),
    head=Head(3),
)


class TestTorchBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> BaseBackend:
        return TorchBackend()


def test_get_backend_returns_the_torch_backend() -> None:
    assert isinstance(get_backend("torch"), TorchBackend)


@pytest.mark.parametrize("network", [TOKENS, None], ids=["tokens", "cnn"])
def test_torchscript_export_reloads_with_the_same_outputs(
    network: Network | None, tmp_path: Path
) -> None:
    if network is None:
        network = Network(
            (8, 8, 1), layers=(Conv2D(4, 3, padding="same", stride=2), Flatten()), head=Head(10)
        )
    backend = TorchBackend()
    module = backend.build(network, seed=0)
    path = tmp_path / "model.ts"
    backend.export_torchscript(module, path)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # TorchScript is deprecated in PyTorch 2.13
        loaded = torch.jit.load(str(path))
    rng = np.random.default_rng(0)
    if network.takes_token_ids:
        x = torch.as_tensor(rng.integers(0, 11, (5, *network.input_shape)))
    else:
        x = torch.as_tensor(rng.standard_normal((5, *network.input_shape)), dtype=torch.float32)
    with torch.no_grad():
        np.testing.assert_allclose(
            loaded(x).numpy(), backend.predict(module, x.numpy()), atol=1e-5
        )


def test_token_id_networks_predict_and_time(tmp_path: Path) -> None:
    backend = TorchBackend()
    module = backend.build(TOKENS, seed=0)
    ids = np.random.default_rng(0).integers(0, 11, (4, 5))
    assert backend.predict(module, ids).shape == (4, 5, 3)
    assert set(backend.measure_latency(module, (5,), batch_sizes=(1, 4))) == {1, 4}
    backend.save(module, tmp_path / "tokens.pt")
    np.testing.assert_allclose(
        backend.predict(backend.load(tmp_path / "tokens.pt"), ids), backend.predict(module, ids)
    )


def test_save_needs_a_built_module_and_load_an_archtune_file(tmp_path: Path) -> None:
    backend = TorchBackend()
    with pytest.raises(ConfigError, match="save_checkpoint"):
        backend.save(torch.nn.Linear(2, 2), tmp_path / "linear.pt")
    with pytest.raises(ConfigError, match="does not exist"):
        backend.load(tmp_path / "missing.pt")
    save_checkpoint(tmp_path / "checkpoint.pt", torch.nn.Linear(2, 2))
    with pytest.raises(ConfigError, match=r"not a TorchBackend\.save file"):
        backend.load(tmp_path / "checkpoint.pt")
    with pytest.raises(ConfigError, match="input_shape"):
        backend.export_torchscript(torch.nn.Linear(2, 2), tmp_path / "linear.ts")
