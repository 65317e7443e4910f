"""The Keras backend (on ``KERAS_BACKEND=torch``) passes the backend conformance suite."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("keras")

from archtune.backends import BaseBackend, get_backend  # noqa: E402
from archtune.backends.keras import KerasBackend  # noqa: E402
from archtune.testing import BackendConformance  # noqa: E402

torch.set_num_threads(1)


class TestKerasBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> BaseBackend:
        return KerasBackend()


def test_get_backend_returns_the_keras_backend() -> None:
    assert isinstance(get_backend("keras"), KerasBackend)
