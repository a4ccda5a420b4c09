"""Token-to-vector architectures: embed >> encode, List[Doc] -> List[Floats2d]."""
from typing import List, Optional

from thinc.api import Model
from thinc.types import Floats2d

from ..errors import ConfigError
from ..settings import NonNegativeInt, PositiveInt, checked
from ..text.doc import Doc
from .combinators import to_doc_arrays
from .embed import MultiHashEmbedV1
from .encode import MaxoutWindowEncoder


def Tok2Vec(
    embed: Model[List[Doc], List[Floats2d]], encode: Model[List[Floats2d], List[Floats2d]]
) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token, then contextualize: one (n_tokens, width) array per doc.

    `embed` may return a list of (n_tokens, width) arrays, a Ragged, or one array
    for the whole batch (custom layers built with thinc's `add`/`Embed`); it is
    split per doc before `encode`. The output width is `model.get_dim("nO")`; the parts are `model.get_ref("embed")`
    and `model.get_ref("encode")`.
    """
    embed_width, encode_in = embed.maybe_get_dim("nO"), encode.maybe_get_dim("nI")
    if embed_width is not None and encode_in is not None and embed_width != encode_in:
        raise ConfigError(
            f"Tok2Vec: the embed layer outputs width {embed_width} but the encode layer "
            f"expects width {encode_in}. Set the same 'width' in the embed and encode blocks "
            f"(for example `width = ${{components.tok2vec.model.embed.width}}` in the "
            f"encode block)."
        )
    width = encode.maybe_get_dim("nO")
    return Model(
        "tok2vec",
        _forward,
        init=_init,
        layers=[embed, encode],
        refs={"embed": embed, "encode": encode},
        dims={"nO": width},
    )


def _forward(model: Model, docs: List[Doc], is_train: bool):
    embed, encode = model.layers
    embedded, embed_backprop = embed(docs, is_train)
    X, to_embed_grad = to_doc_arrays(embedded, docs)  # [(n_tokens, width)]
    Y, encode_backprop = encode(X, is_train)

    def backprop(dY: List[Floats2d]):
        return embed_backprop(to_embed_grad(encode_backprop(dY)))

    return Y, backprop


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    embed, encode = model.layers  # not refs: thinc's Model.copy() drops refs
    embed.initialize(X=X)
    if X is not None and encode.maybe_get_dim("nI") is None:
        encode.initialize(X=to_doc_arrays(embed.predict(X), X)[0])  # let the encoder read its input width
    else:
        encode.initialize()
    if encode.maybe_get_dim("nO") is not None:
        model.set_dim("nO", encode.get_dim("nO"))


@checked
def HashEmbedCNN(
    width: PositiveInt = 96,
    depth: NonNegativeInt = 4,
    embed_size: PositiveInt = 2000,
    window_size: NonNegativeInt = 1,
    maxout_pieces: PositiveInt = 3,
    subword_features: bool = True,
    pretrained_vectors: Optional[bool] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """The default tok2vec in one block: MultiHashEmbed >> MaxoutWindowEncoder.

    NORM gets `embed_size` rows; PREFIX, SUFFIX and SHAPE (when subword_features)
    get half as many each.
    """
    half = max(1, embed_size // 2)
    embed = MultiHashEmbedV1(
        width=width,
        rows=[embed_size, half, half, half],
        also_embed_subwords=subword_features,
        also_use_static_vectors=bool(pretrained_vectors),
    )
    encode = MaxoutWindowEncoder(
        width=width, window_size=window_size, maxout_pieces=maxout_pieces, depth=depth
    )
    return Tok2Vec(embed, encode)

