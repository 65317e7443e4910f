"""Test suites that implementations of archtune's interfaces inherit, as Optuna's
``optuna.testing.pytest_samplers`` does for samplers.

:class:`BackendConformance` holds the tests every :class:`~archtune.backends.BaseBackend`
passes. A backend's test module subclasses it and overrides the ``backend`` fixture::

    import pytest
    from archtune.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

:func:`networks` is a Hypothesis strategy of random feasible networks (property tests).
:func:`postgres_server` starts a throwaway PostgreSQL on 127.0.0.1 for storage tests.

This package needs pytest and hypothesis (the ``test`` extra) and, for the training tests,
scikit-learn's digits (the ``data`` extra) and onnxruntime (the ``onnx`` extra).
"""

from __future__ import annotations

from archtune.testing._backend import BackendConformance
from archtune.testing._executor import ExecutorConformance
from archtune.testing._postgres import find_pg_bin, postgres_server, restart_postgres
from archtune.testing._strategies import NETWORK_KINDS, networks

__all__ = [
    "NETWORK_KINDS",
    "BackendConformance",
    "ExecutorConformance",
    "find_pg_bin",
    "networks",
    "postgres_server",
    "restart_postgres",
]
