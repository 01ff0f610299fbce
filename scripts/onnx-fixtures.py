#!/usr/bin/env python3
"""Writes test/fixtures/onnx/: small sequential CNNs made by PyTorch's torch.onnx.export, with fixed
inputs and the outputs PyTorch computed on them (JSON), for test/onnx-pytorch.test.ts.

Run with Debian's PyTorch (apt-get install python3-torch python3-onnx):
    /usr/bin/python3 scripts/onnx-fixtures.py
The tests only read the files; they never need Python. Each model is seeded, so a re-run gives the same
weights and inputs (the bytes may differ with another PyTorch version).
"""
import json
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")


class PyTorchMnistStyle(nn.Module):
    """The pattern of PyTorch's MNIST example: relu(max_pool(conv)), x.view(x.size(0), -1), Linear layers;
    plus a strided, padded conv, batch norm after a ReLU, average pooling and dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc1 = nn.Linear(24, 16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))    # [n, 4, 8, 8]
        x = self.bn(F.relu(self.conv2(x)))           # [n, 6, 4, 4]
        x = F.avg_pool2d(x, 2)                       # [n, 6, 2, 2]
        x = x.view(x.size(0), -1)                    # [n, 24]: NCHW flatten order
        x = self.drop(torch.tanh(self.fc1(x)))
        return self.fc2(x)                           # logits


def sequential_model():
    """nn.Sequential with 3 input channels, a non-square kernel and stride, overlapping max pooling,
    a conv followed by BatchNorm2d (PyTorch folds it into the conv), nn.Flatten, Sigmoid, Softmax."""
    return nn.Sequential(
        nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0)),
        nn.BatchNorm2d(5),
        nn.Sigmoid(),
        nn.MaxPool2d(3, stride=2),
        nn.Flatten(),
        nn.Linear(5 * 2 * 3, 12),
        nn.ReLU(),
        nn.Linear(12, 7),
        nn.Softmax(dim=1),
    )


class PyTorchMnistNet(nn.Module):
    """A small classifier for 28×28 digits as PyTorch users write one (untrained: the tests fine-tune it
    with `wasmnet train --init`): conv 8×3×3 → ReLU → max-pool 2 → torch.flatten → Linear → logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(torch.flatten(x, 1))


def warm_batch_norm(model, shape):
    """A few training-mode passes so the running statistics are not (0, 1), then eval mode."""
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(torch.randn(8, *shape) * 2 + 0.5)
    model.eval()


def write(name, model, shape, opset, dynamic_batch, keep_initializers_as_inputs=False):
    x = torch.randn(3, *shape)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(
        model,
        x if not dynamic_batch else x[:1],
        path,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None,
        opset_version=opset,
        keep_initializers_as_inputs=keep_initializers_as_inputs,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(
            {
                "made_by": f"scripts/onnx-fixtures.py with torch {torch.__version__}, onnx {onnx.__version__}",
                "opset": opset,
                "ops": ops,
                "input": {"shape": list(x.shape), "data": [float(v) for v in x.flatten()]},
                "output": {"shape": list(y.shape), "data": [float(v) for v in y.flatten()]},
            },
            f,
        )
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes, opset {opset}, ops {ops}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20261130)
    a = PyTorchMnistStyle()
    warm_batch_norm(a, (1, 16, 16))
    write("pytorch-mnist-style", a, (1, 16, 16), opset=13, dynamic_batch=True)
    torch.manual_seed(7)
    b = sequential_model()
    warm_batch_norm(b, (3, 11, 9))
    write("pytorch-sequential", b, (3, 11, 9), opset=17, dynamic_batch=False, keep_initializers_as_inputs=True)
    torch.manual_seed(28)
    c = PyTorchMnistNet().eval()
    write("pytorch-mnist-28", c, (1, 28, 28), opset=14, dynamic_batch=True)


if __name__ == "__main__":
    main()
