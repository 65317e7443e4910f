"""A training is repeated on the thread count it first ran with, and the count is restored."""

from __future__ import annotations

import pytest

from archtune.backends._threads import torch_threads, training_threads

torch = pytest.importorskip("torch")


def test_the_count_holds_inside_the_block_and_is_restored_after() -> None:
    before = torch.get_num_threads()
    inside = 2 if before == 1 else 1
    with torch_threads(inside):
        assert torch.get_num_threads() == inside
        assert training_threads() == inside
    assert torch.get_num_threads() == before


def test_the_count_is_restored_when_the_training_raises() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="diverged"), torch_threads(before + 1):
        raise RuntimeError("diverged")
    assert torch.get_num_threads() == before


def test_an_unrecorded_count_changes_nothing() -> None:
    before = torch.get_num_threads()
    with torch_threads(None):
        assert torch.get_num_threads() == before
