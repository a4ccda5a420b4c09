"""Token embedding: List[Doc] -> List[Floats2d] from hashed lexical attributes."""
from typing import Callable, List, Optional, Tuple, Union

from thinc.api import HashEmbed, Model, Ragged, chain, concatenate
from thinc.types import Floats2d

from ..errors import ConfigError, ShapeError
from ..settings import PositiveInt, checked
from ..text.attrs import ATTR_NAMES, PREFIX, SHAPE, SUFFIX
from ..text.doc import Doc
from .combinators import ListToRagged, RaggedToList, ragged_chain_forward, with_ragged_data
from .encode import MaxoutNorm, maxout_layer_norm, piece_major
from .featurize import FeatureIds, resolve_attrs

SUBWORD_ATTRS = (PREFIX, SUFFIX, SHAPE)


@checked
def MultiHashEmbed(
    width: PositiveInt = 96,
    attrs: List[str] = ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    rows: Union[PositiveInt, List[PositiveInt]] = [5000, 1000, 2500, 2500],
    include_static_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """One hash-embedding table per attribute, concatenated and mixed to `width`.

    rows: table sizes, one per attribute, or one int for all of them.
    include_static_vectors: also concatenate each token's static vector, projected.
    """
    return _multi_hash_embed(width, attrs, rows, include_static_vectors, also_embed_subwords=True)


@checked
def MultiHashEmbedV1(
    width: PositiveInt = 96,
    rows: Union[PositiveInt, List[PositiveInt]] = [5000, 1000, 2500, 2500],
    also_embed_subwords: bool = True,
    also_use_static_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """The first form (`spacy.MultiHashEmbed.v1`): NORM, PREFIX, SUFFIX and SHAPE tables.

    also_embed_subwords=False keeps only NORM; also_use_static_vectors adds the
    token's static vector, as `include_static_vectors` does in the later form.
    """
    return _multi_hash_embed(width, ["NORM", "PREFIX", "SUFFIX", "SHAPE"], rows, also_use_static_vectors,
                             also_embed_subwords=also_embed_subwords)


def _multi_hash_embed(width, attrs, rows, use_static, also_embed_subwords: bool) -> Model[List[Doc], List[Floats2d]]:
    attr_ids = resolve_attrs(attrs, where="MultiHashEmbed.attrs")
    row_sizes = _resolve_rows(rows, attr_ids)
    if not also_embed_subwords:
        kept = [(a, r) for a, r in zip(attr_ids, row_sizes) if a not in SUBWORD_ATTRS]
        attr_ids, row_sizes = [a for a, _ in kept], [r for _, r in kept]
    use_static = bool(use_static)

    # One table per attribute: uint64 (N, n_attrs) -> (N, width) each; fixed seeds
    # so that two models built from one config hash identically.
    tables = [
        HashEmbed(width, n_rows, column=i, seed=1 + attr)
        for i, (attr, n_rows) in enumerate(zip(attr_ids, row_sizes))
    ]
    hashed = chain(FeatureIds(attr_ids), with_ragged_data(concatenate(*tables)))
    n_inputs = width * len(tables)
    if use_static:
        embedded = concatenate(hashed, _static_vectors_layer(width))  # Ragged (N, n_inputs + width)
        n_inputs += width
    else:
        embedded = hashed  # Ragged (N, n_inputs)
    mix = with_ragged_data(MaxoutNorm(width, n_inputs, 3))  # Ragged (N, width)
    layers = [embedded, mix, RaggedToList()]
    return Model(
        "multi_hash_embed",
        _forward,
        init=_init,
        layers=layers,
        dims={"nO": width},
        attrs={
            "attrs": [ATTR_NAMES[a] for a in attr_ids],
            "rows": row_sizes,
            "include_static_vectors": use_static,
        },
    )


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    if not is_train and not model.attrs["include_static_vectors"]:
        Ys = _predict_projected(model, docs)
        if Ys is not None:
            return Ys, _no_backprop
    return ragged_chain_forward(model, docs, is_train)


def _no_backprop(dYs):
    raise ShapeError("multi_hash_embed: backprop called on an output made with is_train=False.")


def _predict_projected(model: Model, docs: List[Doc]) -> Optional[List[Floats2d]]:
    """Prediction through the mixing layer's projection of each table.

    The mix's product of the concatenated embeddings, sum_k (sum_j E_k[key_kj]) @ W_k.T,
    equals sum_kj (E_k @ W_k.T)[key_kj]: the tables projected once per batch, then one
    gather-add of the (n_tables * 4) projected rows of each token. None (use the layers)
    when projecting the tables would cost more than half the product it saves.
    """
    hashed, mix, to_list = model.layers
    feature_ids, concat, norm = hashed.layers[0], hashed.layers[1].layers[0], mix.layers[0]
    one_table = bool(concat.layers) and concat.layers[0].name == "ints-getitem"  # not wrapped in concatenate
    tables = [concat] if one_table else concat.layers
    embeds = [table.layers[-1] if table.layers else table for table in tables]  # chain(column getter, hashembed)
    if any(e.name != "hashembed" or e.attrs.get("dropout_rate") for e in embeds) or norm.name != "maxout_norm":
        return None
    if not all(len(doc) for doc in docs):  # empty docs: the layers handle them
        return None
    ops, xp = model.ops, model.ops.xp
    Xr, _ = feature_ids(docs, False)  # uint64 (N, n_attrs)
    n_rows = sum(e.get_param("E").shape[0] for e in embeds)
    width, n_inputs = embeds[0].get_param("E").shape[1], norm.get_dim("nI")
    if 2 * n_rows * width > Xr.dataXd.shape[0] * n_inputs:
        return None
    W, b = piece_major(norm)  # (nP * nO, n_inputs), (nP * nO,)
    projected, keys, offset = [], [], 0
    for k, embed in enumerate(embeds):
        E = embed.get_param("E")  # (nV, width)
        projected.append(xp.matmul(E, W[:, k * width:(k + 1) * width].T))  # (nV, nP * nO)
        ids = ops.as_contig(Xr.dataXd[:, embed.attrs["column"]], dtype="uint64")
        keys.append(ops.hash(ids, embed.attrs["seed"]) % E.shape[0] + offset)  # (N, 4) uint32
        offset += E.shape[0]
    Z = ops.gather_add(xp.concatenate(projected), xp.ascontiguousarray(xp.concatenate(keys, axis=1)))  # (N, nP * nO)
    Z += b
    Y = maxout_layer_norm(xp, Z, norm.get_param("G"), norm.get_param("B"))  # (N, width)
    return to_list(Ragged(Y, Xr.lengths), False)[0]


def _resolve_rows(rows: Union[int, List[int]], attr_ids: List[int]) -> List[int]:
    if isinstance(rows, int) and not isinstance(rows, bool):
        row_sizes = [rows] * len(attr_ids)
    else:
        row_sizes = list(rows)
        if len(row_sizes) != len(attr_ids):
            raise ConfigError(
                f"MultiHashEmbed: 'rows' has {len(row_sizes)} entries but 'attrs' has "
                f"{len(attr_ids)} ({', '.join(ATTR_NAMES[a] for a in attr_ids)}). Give one "
                f"row count per attribute, or a single int for all of them."
            )
    for attr, n_rows in zip(attr_ids, row_sizes):
        if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 1:
            raise ConfigError(
                f"MultiHashEmbed: rows for {ATTR_NAMES[attr]} must be an integer >= 1, "
                f"got {n_rows!r}."
            )
    return row_sizes


def _static_vectors_layer(width: int) -> Model[List[Doc], Ragged]:
    """The StaticVectors part of the embedding, projected to `width`: List[Doc] -> Ragged."""
    try:
        from .static_vectors import StaticVectors
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.static_vectors":
            raise
        raise ConfigError(
            "MultiHashEmbed: include_static_vectors (or also_use_static_vectors) is true, but "
            "static word vectors are not available in this build; they arrive with "
            "`python -m workbench init vectors`. Remove the flag from the embed block of your "
            "config (or set it to false) to train without them."
        ) from None
    vectors = StaticVectors(nO=width)
    return chain(vectors, _as_ragged(width))


def _as_ragged(width: int) -> Model:
    """Accept a List[Floats2d] or a Ragged and return a Ragged."""
    to_ragged = ListToRagged(width)

    def forward(model: Model, X, is_train: bool) -> Tuple[Ragged, Callable]:
        if isinstance(X, Ragged):
            return X, lambda dY: dY
        return to_ragged(X, is_train)

    return Model("as_ragged", forward, layers=[to_ragged], dims={"nO": width})


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    # All dims come from the config; sample docs are only passed on for layers
    # (such as static vectors) that read their width from the data.
    embedded = model.layers[0]
    embedded.initialize(X=X)
    for layer in model.layers[1:]:
        layer.initialize()
