"""The quickstart objective: a PyTorch MLP on scikit-learn's digits (real data, offline).

Run it with ``archtune run examples/quickstart.yaml``. Each trial trains an MLP with the
configuration archtune proposes and reports the validation accuracy after every epoch.
"""

from __future__ import annotations

from typing import Any

from archtune import Decision, Reporter


def load_digits_split(seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The 1,797 8x8 digit images, standardised, split 80/20 (stratified, seeded)."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(0), x_train.std(0)
    std[std == 0] = 1.0  # pixels that are always blank in the training split
    as_x = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_val), as_y(y_val)


def train(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Train an MLP with ``config`` (hidden, lr, optimizer, momentum, epochs); return metrics."""
    import torch
    from torch import nn

    torch.manual_seed(reporter.seed or 0)
    x_train, y_train, x_val, y_val = load_digits_split()
    model = nn.Sequential(
        nn.Linear(64, config["hidden"]), nn.ReLU(), nn.Linear(config["hidden"], 10)
    )
    if config["optimizer"] == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=config["lr"], momentum=config["momentum"]
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(reporter.seed or 0)
    val_accuracy = 0.0
    for epoch in range(config["epochs"]):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_accuracy = (logits.argmax(1) == y_val).float().mean().item()
        if reporter.report(epoch, val_accuracy=val_accuracy, val_loss=val_loss) is Decision.STOP:
            break
    return {"val_accuracy": val_accuracy, "val_loss": val_loss}
