"""The PyTorch builder: parameter counts and output shapes equal the analytic ones, and the
module computes what the description says (channels-last, Keras padding, logits)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archtune.arch import (
    GRU,
    LSTM,
    Activation,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Flatten,
    GlobalAvgPool,
    Head,
    InfeasibleNetworkError,
    Layer,
    MaxPool2D,
    Network,
    PositionEmbedding,
    Residual,
    TransformerBlock,
    builtin_network,
    count_params,
    infer_output_shape,
    infer_shapes,
    list_builtin_networks,
)
from archtune.backends import torch as torch_backend
from archtune.backends.torch import build_module
from archtune.testing._strategies import NETWORK_KINDS, networks

torch = pytest.importorskip("torch")

REFERENCE_PARAMS = {
    "cnn-32-64-64": 93_322,
    "cnn-16-32-32": 23_626,
    "mlp-64-64": 5_514,
    "mlp-32-32": 1_738,
}


@pytest.fixture(autouse=True)
def _one_thread_and_seeded() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _n_params(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _inputs(network: Network, batch: int = 2) -> torch.Tensor:
    if network.takes_token_ids:
        vocab = network.layers[0].vocab_size  # type: ignore[attr-defined]
        return torch.randint(0, vocab, (batch, *network.input_shape))
    return torch.randn(batch, *network.input_shape)


@pytest.mark.parametrize("name", list_builtin_networks())
def test_reference_networks(name: str) -> None:
    network = builtin_network(name)
    module = build_module(network)
    assert _n_params(module) == REFERENCE_PARAMS[name] == count_params(network)
    logits = module(_inputs(network, batch=3))
    assert logits.shape == (3, 10)
    assert module.head_activation == "softmax"
    assert len(module.layers) == len(network.layers)
    assert isinstance(module, torch_backend.NetworkModule)
    assert module.network is network


@pytest.mark.parametrize("family", NETWORK_KINDS)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_networks_match_the_analytic_model(family: str, data: st.DataObject) -> None:
    network = data.draw(networks(families=(family,)), label="network")
    torch.manual_seed(0)
    module = build_module(network)
    assert _n_params(module) == count_params(network)
    module.eval()
    with torch.no_grad():
        output = module(_inputs(network))
    assert tuple(output.shape) == (2, *infer_output_shape(network))
    assert torch.isfinite(output).all()


def test_each_layer_module_outputs_the_inferred_shape() -> None:
    network = Network(
        (9, 7, 3),
        layers=(
            Conv2D(4, (2, 3), stride=2, padding="same", separable=True),
            BatchNorm(),
            MaxPool2D(3, stride=2, padding="same"),
            Residual((Conv2D(6, 3, stride=2, padding="same"), Activation("gelu"))),
            AvgPool2D(2, padding="same"),
            Flatten(),
        ),
        head=Head(5),
    )
    module = build_module(network).eval()
    hidden = torch.randn(2, 9, 7, 3)
    for layer_module, shape in zip(module.layers, infer_shapes(network), strict=False):
        hidden = layer_module(hidden)
        assert tuple(hidden.shape) == (2, *shape)


def test_training_step_runs_and_changes_every_parameter() -> None:
    network = Network(
        (6, 5, 2),
        layers=(
            Conv2D(4, 3, padding="same", activation="relu"),
            BatchNorm(),
            Residual((Conv2D(4, 3, stride=2, padding="same", separable=True),)),
            GlobalAvgPool(),
            Dense(8, activation="swish"),
        ),
        head=Head(3),
    )
    module = build_module(network).train()
    before = [parameter.detach().clone() for parameter in module.parameters()]
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(module(torch.randn(4, 6, 5, 2)), torch.arange(4) % 3)
    loss.backward()
    optimizer.step()
    changed = [not torch.equal(b, a) for b, a in zip(before, module.parameters(), strict=True)]
    assert all(changed)


def _single(layer: Layer, input_shape: tuple[int, ...]) -> torch.nn.Module:
    network = Network(input_shape, layers=(layer,), head=Head(1))
    return build_module(network).layers[0].eval()


def test_conv_runs_over_width_for_a_1xk_kernel() -> None:
    # A [1, -1] kernel along the width: zero on inputs that vary only along the height.
    conv = _single(Conv2D(1, (1, 2), use_bias=False), (4, 5, 1))
    with torch.no_grad():
        next(conv.parameters()).copy_(torch.tensor([[[[1.0, -1.0]]]]))
        rows = torch.arange(4.0).reshape(1, 4, 1, 1).expand(1, 4, 5, 1)
        assert conv(rows).abs().max() == 0
        columns = torch.arange(5.0).reshape(1, 1, 5, 1).expand(1, 4, 5, 1)
        assert torch.allclose(conv(columns), torch.full((1, 4, 4, 1), -1.0))


def test_same_padding_with_an_even_kernel_pads_after_as_keras() -> None:
    conv = _single(Conv1D(1, 2, padding="same", use_bias=False), (4, 1))
    with torch.no_grad():
        next(conv.parameters()).fill_(1.0)
        output = conv(torch.tensor([[[1.0], [2.0], [3.0], [4.0]]]))
    # Keras pads (0 before, 1 after): sums of neighbours, the last one with a zero.
    assert output.flatten().tolist() == [3.0, 5.0, 7.0, 4.0]


def test_same_average_pooling_leaves_padding_out() -> None:
    pool = _single(AvgPool2D(3, stride=2, padding="same"), (4, 5, 2))
    with torch.no_grad():
        output = pool(torch.ones(1, 4, 5, 2))
    assert output.shape == (1, 2, 3, 2)
    assert torch.allclose(output, torch.ones_like(output))


def test_same_average_pooling_1d_values() -> None:
    pool = _single(AvgPool1D(2, padding="same"), (3, 1))
    with torch.no_grad():
        output = pool(torch.tensor([[[1.0], [3.0], [5.0]]]))
    assert output.flatten().tolist() == [2.0, 5.0]


def test_same_max_pooling_never_picks_padding() -> None:
    pool = _single(MaxPool2D(2, padding="same"), (3, 3, 1))
    with torch.no_grad():
        output = pool(-torch.ones(1, 3, 3, 1))
    assert torch.equal(output, -torch.ones(1, 2, 2, 1))


def test_flatten_is_channels_last() -> None:
    flatten = _single(Flatten(), (2, 3, 4))
    inputs = torch.arange(24.0).reshape(1, 2, 3, 4)
    assert flatten(inputs).flatten().tolist() == list(range(24))


def test_identity_residual_adds_its_input() -> None:
    block = _single(Residual((Activation("relu"),)), (3,))
    inputs = torch.tensor([[-1.0, 0.5, 2.0]])
    assert block(inputs).tolist() == [[-1.0, 1.0, 4.0]]


def test_projecting_residual_subsamples_the_shortcut() -> None:
    block = _single(Residual((Conv2D(3, 1, stride=2),)), (5, 5, 2))
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.zero_()
        shortcut = block.projection
        shortcut.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        inputs = torch.randn(1, 5, 5, 2)
        output = block(inputs)
    expected = inputs[:, ::2, ::2, :] @ shortcut.weight.T
    assert output.shape == (1, 3, 3, 3)
    assert torch.allclose(output, expected)


@pytest.mark.parametrize("cls", [GRU, LSTM])
def test_bidirectional_last_state_matches_the_sequence_ends(cls: type[GRU] | type[LSTM]) -> None:
    torch.manual_seed(1)
    last = _single(cls(3, bidirectional=True), (5, 2))
    sequences = build_module(
        Network((5, 2), layers=(cls(3, bidirectional=True, return_sequences=True),), head=Head(1))
    ).layers[0]
    sequences.load_state_dict(last.state_dict())
    inputs = torch.randn(2, 5, 2)
    with torch.no_grad():
        state, sequence = last(inputs), sequences(inputs)
    assert torch.allclose(state[:, :3], sequence[:, -1, :3])  # forward: the last step
    assert torch.allclose(state[:, 3:], sequence[:, 0, 3:])  # backward: the first step


def test_token_id_transformer() -> None:
    network = Network(
        (7,),
        layers=(
            Embedding(20, dim=8),
            PositionEmbedding(),
            TransformerBlock(8, n_heads=2, d_ff=16, activation="gelu"),
            GlobalAvgPool(),
        ),
        head=Head(2, activation="sigmoid"),
    )
    module = build_module(network)
    assert _n_params(module) == count_params(network)
    logits = module(torch.randint(0, 20, (3, 7)))
    assert logits.shape == (3, 2)
    assert module.head_activation == "sigmoid"


def test_head_returns_logits() -> None:
    module = build_module(builtin_network("mlp-32-32")).eval()
    with torch.no_grad():
        logits = module(torch.randn(4, 10) * 100)
        expected = module.head(module.layers[1](module.layers[0](torch.zeros(0, 10))))
    assert expected.shape == (0, 10)
    assert not torch.allclose(logits.sum(dim=1), torch.ones(4))


def test_wrong_input_shape_is_a_clear_error() -> None:
    module = build_module(builtin_network("cnn-16-32-32"))
    with pytest.raises(
        ValueError, match=r"must have shape \(batch, 28, 28, 1\).*got \(2, 1, 28, 28\)"
    ):
        module(torch.zeros(2, 1, 28, 28))


def test_infeasible_network_is_not_built() -> None:
    network = Network((4, 4, 1), layers=(Conv2D(2, 5),), head=Head(2))
    with pytest.raises(InfeasibleNetworkError, match=r"layers\[0\] \(conv2d\)"):
        build_module(network)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("family", NETWORK_KINDS)
@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_cuda_module_computes_what_the_cpu_module_does(family: str, data: st.DataObject) -> None:
    network = data.draw(networks(families=(family,)), label="network")
    torch.manual_seed(0)
    module = build_module(network).eval()
    inputs = _inputs(network, batch=3)
    with torch.no_grad():
        expected = module(inputs)
        actual = module.to("cuda")(inputs.to("cuda")).cpu()
    # Loose enough for TF32, which PyTorch may use for convolutions on CUDA.
    assert torch.allclose(actual, expected, rtol=1e-2, atol=1e-3)
