"""Runs an exported model from Python the way the README shows, with ONNX Runtime and with PyTorch, on the
Fashion-MNIST test set, and prints one JSON line: both accuracies, the largest probability difference between
the two runtimes, and their versions.

    python3 check_python_runtimes.py RUN_DIR DATA_DIR

RUN_DIR holds model.onnx, model.pth and config.json (`fmnist export --format onnx` and `--format pytorch`);
DATA_DIR the t10k IDX files (.gz)."""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_idx  # noqa: E402
import fmnist_model  # noqa: E402


run, data = sys.argv[1], sys.argv[2]
images = fashion_idx.read(f"{data}/t10k-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28).astype(np.float32)
labels = fashion_idx.read(f"{data}/t10k-labels-idx1-ubyte.gz")

session = ort.InferenceSession(f"{run}/model.onnx", providers=["CPUExecutionProvider"])
p_onnx, = session.run(["probabilities"], {"images": images})

model = fmnist_model.load(f"{run}/model.pth", f"{run}/config.json")
with torch.no_grad():
    p_torch = model(torch.from_numpy(images)).numpy()

print(json.dumps({
    "run": run,
    "onnxruntime": ort.__version__, "torch": torch.__version__,
    "onnx_accuracy": float((p_onnx.argmax(1) == labels).mean()),
    "torch_accuracy": float((p_torch.argmax(1) == labels).mean()),
    "same_class": int((p_onnx.argmax(1) == p_torch.argmax(1)).sum()),
    "max_abs_probability_difference": float(np.abs(p_onnx - p_torch).max()),
}))
