#!/usr/bin/python3
"""Runs the onnx package's checker (full_check: also shape inference) on ONNX files and prints,
per file, a JSON line with the opset, IR version, operators used and the graph's inputs and
outputs. Exits 1 with the checker's message on the first invalid file.
Usage: onnx_check.py FILE.onnx..."""
import json, sys
import onnx

def dims(v):
    return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

for path in sys.argv[1:]:
    model = onnx.load(path)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker's own exception types vary between releases
        print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({
        "path": path,
        "onnx": onnx.__version__,
        "ir_version": model.ir_version,
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0],
        "ops": sorted({n.op_type for n in model.graph.node}),
        "inputs": {i.name: dims(i) for i in model.graph.input},
        "outputs": {o.name: dims(o) for o in model.graph.output},
    }))
