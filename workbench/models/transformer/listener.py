"""TransformerListener: token vectors pooled from a shared transformer's wordpieces.

Per doc the upstream transformer sends `(rows, align, layers)`: its (n_rows, width) last
hidden state, a Ragged of wordpiece rows per token, and (only when some listener mixes
layers) every hidden state's (n_rows, width) rows. The listener gathers the rows of every
token, pools them with `pooling` (a thinc `Model[Ragged, Floats2d]`, e.g. reduce_mean)
and, in backprop, scatters the gradient back onto the rows, multiplied by `grad_factor`.
A factor of 0 sends nothing back, so when no listener asks for gradients the transformer
skips its backward pass.

`layer_mix = true` reads a scalar mix instead of the last layer: `scale * sum_l
softmax(w)_l * hidden_l` over every hidden state (the embeddings included), with `w`
(n_layers,) and `scale` (1,) learned by the listener's component. With the transformer
frozen that costs one weighted sum per row; the transformer keeps its hidden states only
while such a listener is bound to it.
"""
import copy
from typing import Iterator, List, Optional, Union

import numpy
from thinc.api import Model, reduce_mean
from thinc.types import Floats2d, Ragged

from ...errors import ConfigError, ListenerError
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
    layer_mix: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Reads the transformer component named `upstream` ("*": the nearest before).

    grad_factor: a number, or a schedule (e.g. `@schedules = "constant_then.v1"`)
    whose next value is taken at every training step.
    width: the transformer's hidden size; taken from the upstream when left out.
    layer_mix: pool a learned, softmax-normalised weighted sum of all hidden layers
    (times a learned scale) instead of the last one.
    """
    pooling = pooling if pooling is not None else reduce_mean()
    return Model(
        "transformer-listener",
        _forward,
        init=_init,
        layers=[pooling],
        dims={"nO": width, "nL": None},  # nL: hidden states to mix (layers + embeddings)
        params={"mix_weights": None, "mix_scale": None} if layer_mix else {},
        attrs={CHANNEL: ListenerChannel("transformer", upstream, grad_factor), "upstream": upstream,
               "layer_mix": bool(layer_mix)},
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


def _init(model: Model, X=None, Y=None) -> Model:
    if model.attrs["layer_mix"] and not model.has_param("mix_weights"):
        if not model.has_dim("nL"):
            channel_of(model).require_connected()
            raise ConfigError(
                f"The transformer listener in '{channel_of(model).downstream}' has layer_mix = true, but "
                f"'{channel_of(model).upstream}' does not know its number of layers yet: initialize the "
                f"pipeline (nlp.initialize) so the transformer is loaded first."
            )
        model.set_param("mix_weights", model.ops.alloc1f(model.get_dim("nL")))  # softmax: equal shares
        model.set_param("mix_scale", model.ops.asarray1f([1.0]))
    model.layers[0].initialize()
    return model


def layer_weights(model: Model) -> numpy.ndarray:
    """(n_layers,) the mixing listener's softmax-normalised layer weights (embeddings first)."""
    w = model.get_param("mix_weights")
    return model.ops.to_numpy(model.ops.softmax(w[None, :])[0])


def _forward(model: Model, docs: List[Doc], is_train: bool):
    channel = channel_of(model)
    pooling = model.layers[0]
    mixing = model.attrs["layer_mix"]
    if is_train:
        outputs, send_back = channel.receive(docs)
        factor = channel.factor  # the upstream moved it on for this step
    else:
        outputs, send_back, factor = channel.read_stored(docs), None, 0.0
    ops = model.ops
    rows = [out[0] for out in outputs]  # per doc (n_rows_d, width)
    aligns = [out[1] for out in outputs]
    # Gather every token's rows of every doc into one Ragged: (n_aligned, width).
    offsets = numpy.cumsum([0] + [len(r) for r in rows[:-1]])
    index = ops.xp.concatenate([ops.asarray1i(a.dataXd) + int(o) for a, o in zip(aligns, offsets)]) if rows else ops.alloc1i(0)
    lengths = ops.xp.concatenate([ops.asarray1i(a.lengths) for a in aligns]) if rows else ops.alloc1i(0)
    width = rows[0].shape[1] if rows else (model.get_dim("nO") if model.has_dim("nO") else 0)
    if not model.has_dim("nO"):
        model.set_dim("nO", int(width))
    if mixing:
        layers = _stack_layers(model, outputs, width)  # (n_layers, n_rows, width)
        alpha = ops.softmax(model.get_param("mix_weights")[None, :])[0]  # (n_layers,)
        scale = float(model.get_param("mix_scale")[0])
        mixed = ops.xp.tensordot(alpha, layers, axes=1)  # (n_rows, width)
        flat = mixed * scale
    else:
        flat = ops.xp.concatenate(rows) if rows else ops.alloc2f(0, width)  # (n_rows, width)
    pooled, backprop_pool = pooling(Ragged(flat[index], lengths), is_train)  # (n_tokens, width)
    n_tokens = [len(a.lengths) for a in aligns]
    Y = ops.xp.split(pooled, numpy.cumsum(n_tokens)[:-1].tolist()) if rows else []

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        if send_back is None:
            return []
        if factor == 0.0 and not mixing:
            send_back([None] * len(dY))  # record a zero norm; no gradient reaches the transformer
            return []
        d_pooled = ops.xp.concatenate(dY) if dY else ops.alloc2f(0, width)
        d_ragged = backprop_pool(d_pooled)  # Ragged (n_aligned, width)
        d_flat = ops.alloc2f(*flat.shape)
        ops.scatter_add(d_flat, index, d_ragged.dataXd)
        if mixing:
            d_alpha = scale * ops.xp.tensordot(layers, d_flat, axes=([1, 2], [0, 1]))  # (n_layers,)
            model.inc_grad("mix_weights", alpha * (d_alpha - (alpha * d_alpha).sum()))  # softmax backward
            model.inc_grad("mix_scale", ops.asarray1f([float((d_flat * mixed).sum())]))
            if factor == 0.0:
                send_back([None] * len(dY))
                return []
            d_flat = (scale * factor) * alpha[:, None, None] * d_flat[None]  # (n_layers, n_rows, width)
        elif factor != 1.0:
            d_flat *= factor
        send_back(ops.xp.split(d_flat, numpy.cumsum([len(r) for r in rows])[:-1].tolist(), axis=-2))
        return []

    return Y, backprop


def _stack_layers(model: Model, outputs: List, width: int):
    """(n_layers, n_rows, width): every hidden state's rows of every doc, docs concatenated."""
    n_layers = model.get_dim("nL")
    per_doc = [out[2] if len(out) > 2 else None for out in outputs]
    if any(layers is None for layers in per_doc):
        raise ListenerError(
            f"The listener in '{channel_of(model).downstream}' mixes layers, but '{channel_of(model).upstream}' "
            f"sent only its last layer: re-link the pipeline (nlp.link_listeners()) after changing listeners."
        )
    if not per_doc:
        return model.ops.alloc3f(n_layers, 0, width)
    if len(per_doc[0]) != n_layers:
        raise ListenerError(
            f"The listener in '{channel_of(model).downstream}' mixes {n_layers} layers, but "
            f"'{channel_of(model).upstream}' sent {len(per_doc[0])}."
        )
    return model.ops.xp.stack([model.ops.xp.concatenate([layers[k] for layers in per_doc]) for k in range(n_layers)])
