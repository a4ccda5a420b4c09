"""How a TransformerModel is saved: never with pickle.

`model.to_bytes()` holds the HF config as JSON and the weights as safetensors (tied
weights saved once), inside msgpack; the tokenizer's files travel as an attr. Until the
weights are loaded, `UnloadedModule` stands in for the torch module and `TokenizerNotLoaded`
for the tokenizer, so a saved pipeline loads without the original model installed.
"""
import json
import tempfile
from pathlib import Path
from typing import Any, Dict

import srsly
import torch
from thinc.model import deserialize_attr, serialize_attr

from ...errors import ConfigError

FORMAT = "workbench.hf.v1"


class UnloadedModule(torch.nn.Module):
    """Stands in for the HF model until the weights are loaded."""


class TokenizerNotLoaded:
    """`model.attrs["tokenizer"]` until the model is loaded."""

    def __getattr__(self, name: str):
        if name.startswith("_"):  # copy/pickle protocol lookups
            raise AttributeError(name)
        raise ConfigError(
            "The transformer's tokenizer is not loaded yet: call model.initialize() (loads `name`) or "
            "transformer_from_disk(model, path) first."
        )

    def __repr__(self) -> str:
        return "<tokenizer not loaded>"


def _tokenizer_to_bytes(tokenizer: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
    return srsly.msgpack_dumps({"format": FORMAT, "files": files})


def _tokenizer_from_bytes(data: bytes) -> Any:
    from transformers import AutoTokenizer

    msg = srsly.msgpack_loads(data)
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in msg["files"].items():
            (Path(tmp) / Path(name).name).write_bytes(content)
        return AutoTokenizer.from_pretrained(tmp, local_files_only=True)


@serialize_attr.register(TokenizerNotLoaded)
def _ser_not_loaded(_, value, name, model):
    raise TypeError("nothing to save")  # thinc skips attrs that raise TypeError


@deserialize_attr.register(TokenizerNotLoaded)
def _deser_not_loaded(_, value, name, model):
    return _tokenizer_from_bytes(value)


_registered_tokenizer_types = set()


def register_tokenizer_type(tokenizer: Any) -> None:
    """Teach thinc's attr (de)serialization the tokenizer class (done when one is loaded,
    so `transformers` is imported only when needed)."""
    from transformers import PreTrainedTokenizerBase

    if PreTrainedTokenizerBase not in _registered_tokenizer_types:
        serialize_attr.register(PreTrainedTokenizerBase)(lambda _, value, name, model: _tokenizer_to_bytes(value))
        deserialize_attr.register(PreTrainedTokenizerBase)(lambda _, value, name, model: _tokenizer_from_bytes(value))
        _registered_tokenizer_types.add(PreTrainedTokenizerBase)


def serialize_hf(module: Any) -> bytes:
    """Config (JSON) + weights (safetensors) as msgpack. Never pickle."""
    if isinstance(module, UnloadedModule):
        return srsly.msgpack_dumps({"format": FORMAT, "loaded": False})
    from safetensors.torch import save

    state, seen = {}, set()
    for key, tensor in module.state_dict().items():
        ptr = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape))
        if ptr in seen:  # tied weights: saved once, re-tied on load
            continue
        seen.add(ptr)
        state[key] = tensor.detach().contiguous().cpu()
    return srsly.msgpack_dumps({
        "format": FORMAT, "loaded": True, "config": module.config.to_json_string(), "weights": save(state),
    })


def deserialize_hf(module: Any, data: bytes, device: Any, settings: Dict[str, Any]) -> Any:
    from safetensors.torch import load

    msg = srsly.msgpack_loads(data)
    if msg.get("format") != FORMAT:
        raise ConfigError(
            f"The saved transformer weights have format {msg.get('format')!r}, expected {FORMAT!r}: "
            f"save the model again with this version of the workbench."
        )
    if not msg["loaded"]:
        return module
    if isinstance(module, UnloadedModule):
        from transformers import AutoConfig, AutoModel

        cfg = json.loads(msg["config"])
        config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
        attn = "eager" if settings.get("output_attentions") else None
        module = AutoModel.from_config(config, attn_implementation=attn) if attn else AutoModel.from_config(config)
    state = load(msg["weights"])
    missing, unexpected = module.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not _is_tied(module, k, state)]:
        raise ConfigError(
            f"The saved transformer weights do not fit this model (missing {list(missing)[:5]}, "
            f"unexpected {list(unexpected)[:5]}): the pipeline's [model] name points at a different architecture."
        )
    module.tie_weights()
    module.eval()
    return module.to(device)


def _is_tied(module: Any, key: str, state: Dict[str, Any]) -> bool:
    """Whether parameter `key` shares storage with one that was saved."""
    params = dict(module.state_dict())
    target = params.get(key)
    if target is None:
        return False
    return any(params[k].data_ptr() == target.data_ptr() for k in state if k in params)
