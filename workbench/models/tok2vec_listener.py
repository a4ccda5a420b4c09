"""Tok2VecListener: a downstream model's window onto a shared tok2vec component."""
from typing import List

from thinc.api import Model
from thinc.types import Floats2d

from ..settings import PositiveInt, checked
from ..text.doc import Doc
from .listener import CHANNEL, ListenerChannel, channel_of, listener_architecture


@listener_architecture
@checked
def Tok2VecListener(width: PositiveInt = 96, upstream: str = "*") -> Model[List[Doc], List[Floats2d]]:
    """Reads the (n_tokens, width) arrays of the tok2vec component named `upstream`
    ("*": the nearest tok2vec before this component)."""
    return Model(
        "tok2vec-listener",
        _forward,
        dims={"nO": width},
        attrs={CHANNEL: ListenerChannel("tok2vec", upstream), "upstream": upstream},
    )


def _forward(model: Model, docs: List[Doc], is_train: bool):
    channel = channel_of(model)
    if is_train:
        outputs, send_back = channel.receive(docs)  # [(n_tokens, width)] per doc

        def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
            send_back(d_outputs)
            return []

        return outputs, backprop
    return channel.read_stored(docs), lambda d: []
