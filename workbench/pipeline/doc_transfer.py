"""Docs as compact msgpack bytes, to send them between processes (never pickle).

A Doc travels as its words, spaces, annotations, `doc.tensor` and its extension
values (`doc._.name`, set on the doc or on a token/span range). `doc._.trf_data`
travels as `TransformerData.to_dict()` or is dropped (`keep_trf_data=False`).
Any other value must be plain data that msgpack can hold (numbers, strings,
lists, dicts, numpy arrays); anything else raises a DataError naming it.
"""
from typing import Any, Dict, List

import numpy
from srsly.msgpack._msgpack_numpy import decode_numpy, encode_numpy
from srsly.msgpack._packer import Packer
from srsly.msgpack._unpacker import unpackb

from ..errors import DataError
from ..text.doc import Doc
from ..text.vocab import Vocab

EXTENSION = "._."
TRF_DATA = "trf_data"
TUPLE = "__tuple__"


def doc_to_dict(doc: Doc, *, keep_trf_data: bool = True) -> Dict[str, Any]:
    """Plain data for one doc (see the module docstring)."""
    extensions, user_data = [], []
    for key, value in doc.user_data.items():
        if isinstance(key, tuple) and len(key) == 4 and key[0] == EXTENSION:
            name, start, end = key[1], key[2], key[3]
            if name == TRF_DATA and value is not None and hasattr(value, "to_dict"):
                if not keep_trf_data:
                    continue
                extensions.append([name, start, end, {"__trf_data__": value.to_dict()}])
            else:
                extensions.append([name, start, end, _plain(value, f"doc._.{name}")])
        else:
            user_data.append([_plain(key, "a doc.user_data key"), _plain(value, f"doc.user_data[{key!r}]")])
    return {
        "words": doc.words, "spaces": doc.spaces, "tags": doc._tags, "pos": doc._pos,
        "sent_starts": doc._sent_starts, "ents": [list(e) for e in doc._ents], "cats": dict(doc.cats),
        "heads": doc._heads, "deps": doc._deps,
        "tensor": None if doc.tensor is None else numpy.asarray(doc.tensor),
        "extensions": extensions, "user_data": user_data,
    }


def doc_from_dict(vocab: Vocab, data: Dict[str, Any]) -> Doc:
    """The Doc that `doc_to_dict` described, on `vocab`."""
    doc = Doc._from_tokenizer(vocab, list(data["words"]), [bool(s) for s in data["spaces"]])
    doc._tags, doc._pos, doc._sent_starts = data["tags"], data["pos"], data["sent_starts"]
    doc._ents = [(int(s), int(e), str(label)) for s, e, label in data["ents"]]
    doc.cats = {str(k): float(v) for k, v in data.get("cats", {}).items()}
    doc._heads, doc._deps = data.get("heads"), data.get("deps")
    doc.tensor = data["tensor"]
    for name, start, end, value in data["extensions"]:
        if isinstance(value, dict) and "__trf_data__" in value:
            from ..models.transformer.data import TransformerData

            value = TransformerData.from_dict(value["__trf_data__"])
        else:
            value = _unplain(value)
        doc.user_data[(EXTENSION, name, start, end)] = value
    for key, value in data["user_data"]:
        doc.user_data[_unplain(key)] = _unplain(value)
    return doc


# srsly's msgpack with its numpy hooks, called directly: `srsly.msgpack_dumps`/`loads` look the
# hooks up in the installed packages' entry points on every call (~4 ms a batch, each side).


def docs_to_bytes(docs: List[Doc], *, keep_trf_data: bool = True) -> bytes:
    return Packer(default=encode_numpy, use_bin_type=True).pack([doc_to_dict(doc, keep_trf_data=keep_trf_data) for doc in docs])


def docs_from_bytes(vocab: Vocab, data: bytes) -> List[Doc]:
    return [doc_from_dict(vocab, d) for d in unpackb(data, raw=False, object_hook=decode_numpy)]


def _unplain(value: Any) -> Any:
    """Inverse of `_plain`: marked tuples back to tuples."""
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and TUPLE in value:
            return tuple(_unplain(v) for v in value[TUPLE])
        return {_unplain(k): _unplain(v) for k, v in value.items()}
    return value


_PLAIN = (type(None), bool, int, float, str, bytes, numpy.ndarray, numpy.generic)


def _plain(value: Any, where: str) -> Any:
    """`value` as data msgpack can carry (a tuple is marked, to come back as one); else a DataError."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    if isinstance(value, tuple):
        return {TUPLE: [_plain(v, where) for v in value]}
    if isinstance(value, dict):
        return {_plain(k, where): _plain(v, where) for k, v in value.items()}
    raise DataError(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, which cannot be sent "
        f"between processes. Store plain data there (numbers, strings, lists, dicts, numpy arrays), "
        f"or run with n_process=1."
    )
