"""TransformerListener: token vectors pooled from a shared transformer's wordpieces.

Per doc the upstream transformer sends `(rows, align)`: its (n_rows, width) last
hidden state and a Ragged of wordpiece rows per token. The listener gathers the
rows of every token, pools them with `pooling` (a thinc `Model[Ragged, Floats2d]`,
e.g. reduce_mean) and, in backprop, scatters the gradient back onto the rows,
multiplied by `grad_factor`. A factor of 0 sends nothing back, so when no
listener asks for gradients the transformer skips its backward pass.
"""
import copy
from typing import Iterator, List, Optional, Union

import numpy
from thinc.api import Model, reduce_mean
from thinc.types import Floats2d, Ragged

from ...settings import NonNegativeFloat, PositiveInt, checked
from ...text.doc import Doc
from ..listener import CHANNEL, ListenerChannel, channel_of, listener_architecture


@listener_architecture
@checked
def TransformerListener(
    grad_factor: Union[NonNegativeFloat, Iterator[float]] = 1.0,
    pooling: Optional[Model[Ragged, Floats2d]] = None,
    upstream: str = "*",
    width: Optional[PositiveInt] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Reads the transformer component named `upstream` ("*": the nearest before).

    grad_factor: a number, or a schedule (e.g. `@schedules = "constant_then.v1"`)
    whose next value is taken at every training step.
    width: the transformer's hidden size; taken from the upstream when left out.
    """
    pooling = pooling if pooling is not None else reduce_mean()
    return Model(
        "transformer-listener",
        _forward,
        layers=[pooling],
        dims={"nO": width},
        attrs={CHANNEL: ListenerChannel("transformer", upstream, grad_factor), "upstream": upstream},
    )


POOLING_LAYERS = "reduce_mean.v1, reduce_max.v1, reduce_sum.v1, reduce_first.v1 or reduce_last.v1"


def pooling_problem(pooling: Model, width: int) -> Optional[str]:
    """None if `pooling` turns a Ragged of wordpiece rows, (n_rows, width) in groups of
    each token's rows, into one row per token, (n_tokens, width); else what it does
    instead. A copy is run on 5 random rows of 2 tokens, so nothing is initialized."""
    probe = copy.deepcopy(pooling)
    rows = Ragged(numpy.random.default_rng(0).random((5, width), dtype="float32"), numpy.array([2, 3], dtype="int32"))
    fix = f"use a layer that pools each token's rows into one, e.g. @layers = {POOLING_LAYERS}"
    try:
        pooled, _ = probe(rows, is_train=False)
    except Exception as e:  # any failure on the probe is the failure of the first forward pass
        return f"cannot pool wordpiece rows ({type(e).__name__}: {e}): {fix}."
    shape = getattr(pooled, "shape", None)
    if shape is None or tuple(shape) != (2, width):
        got = f"shape {tuple(shape)}" if shape is not None else type(pooled).__name__
        return f"gives {got} for 2 tokens of width {width}, not (2, {width}): {fix}."
    return None


def _forward(model: Model, docs: List[Doc], is_train: bool):
    channel = channel_of(model)
    pooling = model.layers[0]
    if is_train:
        outputs, send_back = channel.receive(docs)
        factor = channel.factor  # the upstream moved it on for this step
    else:
        outputs, send_back, factor = channel.read_stored(docs), None, 0.0
    ops = model.ops
    rows = [r for r, _ in outputs]  # per doc (n_rows_d, width)
    aligns = [a for _, a in outputs]
    # Gather every token's rows of every doc into one Ragged: (n_aligned, width).
    offsets = numpy.cumsum([0] + [len(r) for r in rows[:-1]])
    index = ops.xp.concatenate([ops.asarray1i(a.dataXd) + int(o) for a, o in zip(aligns, offsets)]) if rows else ops.alloc1i(0)
    lengths = ops.xp.concatenate([ops.asarray1i(a.lengths) for a in aligns]) if rows else ops.alloc1i(0)
    width = rows[0].shape[1] if rows else (model.get_dim("nO") if model.has_dim("nO") else 0)
    flat = ops.xp.concatenate(rows) if rows else ops.alloc2f(0, width)  # (n_rows, width)
    if not model.has_dim("nO"):
        model.set_dim("nO", int(width))
    pooled, backprop_pool = pooling(Ragged(flat[index], lengths), is_train)  # (n_tokens, width)
    n_tokens = [len(a.lengths) for a in aligns]
    Y = ops.xp.split(pooled, numpy.cumsum(n_tokens)[:-1].tolist()) if rows else []

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        if send_back is None:
            return []
        if factor == 0.0:
            send_back([None] * len(dY))  # record a zero norm; no gradient reaches the transformer
            return []
        d_pooled = ops.xp.concatenate(dY) if dY else ops.alloc2f(0, width)
        d_ragged = backprop_pool(d_pooled)  # Ragged (n_aligned, width)
        d_flat = ops.alloc2f(*flat.shape)
        ops.scatter_add(d_flat, index, d_ragged.dataXd)
        if factor != 1.0:
            d_flat *= factor
        send_back(ops.xp.split(d_flat, numpy.cumsum([len(r) for r in rows])[:-1].tolist()))
        return []

    return Y, backprop
