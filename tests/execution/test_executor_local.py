"""The local executor passes the executor conformance suite."""

from __future__ import annotations

import pytest

from archtune.execution import BaseExecutor, LocalExecutor
from archtune.testing._executor import ExecutorConformance

pytestmark = pytest.mark.integration


class TestLocalExecutor(ExecutorConformance):
    @pytest.fixture
    def executor(self) -> BaseExecutor:
        return LocalExecutor(2)
