"""Runs the official ONNX checker (with shape inference) on a file: python3 check_onnx.py MODEL.onnx
Prints the opset, IR version, inputs, outputs and metadata keys as JSON; exits non-zero on an invalid model."""
import json
import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
graph = model.graph
print(json.dumps({
    "onnx": onnx.__version__,
    "ir_version": model.ir_version,
    "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0],
    "inputs": [i.name for i in graph.input],
    "outputs": [o.name for o in graph.output],
    "metadata": sorted(p.key for p in model.metadata_props),
}))
