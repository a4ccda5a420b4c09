"""nlp.pipe(n_process=N): same docs as one process, in order, with extension values and
trf_data; generators and (text, context) pairs; a failing text; what cannot cross."""
import os
import sys
import types
import warnings
from pathlib import Path

import numpy
import pytest

import tests.helpers.mp_components  # noqa: F401  (registers the test_marker factory)
import workbench
from tests.helpers.timeout import time_limit
from tests.helpers.trf import tiny_bert_path
from workbench.config import load_config
from workbench.errors import ConfigError
from workbench.pipeline import multiprocess
from workbench.pipeline.multiprocess import WorkerError
from workbench.training.loop import train

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
LIMIT = 240  # seconds: starting two spawned workers on a busy 2-core machine takes a while


def sample_texts(n: int):
    import json

    lines = (SAMPLE / "raw_text.jsonl").read_text(encoding="utf8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


@pytest.fixture(scope="module")
def sample_nlp():
    """The sample tagger + ner pipeline (shared tok2vec), briefly trained, plus the marker."""
    config = load_config(SAMPLE / "configs" / "shared.cfg", {
        "paths.train": str(SAMPLE / "train.jsonl"), "paths.dev": str(SAMPLE / "dev.jsonl"),
        "training.max_steps": 30, "training.eval_frequency": 30, "training.max_epochs": 0,
    })
    nlp = train(config, None).nlp
    nlp.add_pipe("test_marker")
    return nlp


def doc_state(doc):
    """Everything a caller sees on a doc, as comparable data."""
    ext = {k: v for k, v in doc.user_data.items() if not (isinstance(k, tuple) and k[1] == "trf_data")}
    return {**doc.to_json(), "ext": ext}


def test_two_processes_give_the_same_docs_in_order_from_a_generator(sample_nlp):
    texts = sample_texts(120) + ["", "   "]
    one = list(sample_nlp.pipe(iter(texts), batch_size=16))
    with time_limit(LIMIT, "nlp.pipe(n_process=2)"):
        two = list(sample_nlp.pipe((t for t in texts), batch_size=16, n_process=2))
    assert [d.text for d in two] == [d.text for d in one]
    assert [doc_state(d) for d in two] == [doc_state(d) for d in one]
    assert any(d.ents for d in two) and all(all(d.pos) for d in two if len(d))
    assert two[0]._.mp_n_chars == len(texts[0]) and two[0][0:2]._.first_word["word"] == two[0].words[0]
    for a, b in zip(one, two):
        if len(a):
            assert b.tensor.dtype == a.tensor.dtype and numpy.allclose(a.tensor, b.tensor, atol=1e-5)
    profile = multiprocess.last_profile()  # where the time went: every batch is counted once, in a worker
    assert profile.start_method == "forkserver" and profile.n_process == 2 and profile.docs == len(texts)
    assert sum(w["batches"] for w in profile.workers.values()) == 8 and os.getpid() not in profile.workers
    assert all(w["cpu"] >= w["load_cpu"] + w["annotate_cpu"] for w in profile.workers.values())
    assert profile.first_doc_seconds <= profile.total_seconds and profile.parent_wait_seconds <= profile.total_seconds


def test_as_tuples_keeps_contexts_and_docs_in_the_input(sample_nlp):
    texts = sample_texts(40)
    contexts = [{"id": i, "obj": object()} for i in range(len(texts))]  # contexts never leave the parent
    docs = [sample_nlp.make_doc(t) for t in texts[:3]]
    docs[0].tags = ["X"] * len(docs[0])  # a Doc as input keeps what it had
    with time_limit(LIMIT, "nlp.pipe(as_tuples=True, n_process=2)"):
        pairs = list(sample_nlp.pipe(zip(docs + texts[3:], contexts), as_tuples=True, batch_size=8, n_process=2))
    assert [c["id"] for _, c in pairs] == list(range(len(texts)))
    assert all(c is o for (_, c), o in zip(pairs, contexts))
    assert [d.text for d, _ in pairs] == texts
    expected = list(sample_nlp.pipe(texts, batch_size=8))
    assert [d.to_json() for d, _ in pairs[3:]] == [d.to_json() for d in expected[3:]]
    assert pairs[0][0].tags[0] == "X" and pairs[0][0].pos == expected[0].pos
    with pytest.raises(TypeError, match="item 0 is 'just a text'"):
        list(sample_nlp.pipe(["just a text"], as_tuples=True))


def test_a_failing_text_names_its_index_and_nothing_hangs(sample_nlp):
    texts = sample_texts(30)
    texts[21] = "This text goes BOOM in the worker"
    with time_limit(LIMIT, "a failing nlp.pipe(n_process=2)"):
        with pytest.raises(WorkerError) as info:
            list(sample_nlp.pipe(texts, batch_size=8, n_process=2))
    assert info.value.text_index == 21
    assert "text 21 ('This text goes BOOM" in str(info.value) and "ValueError: this text says BOOM" in str(info.value)


def test_a_transformer_pipeline_gives_the_same_docs_with_or_without_trf_data():
    nlp = workbench.blank("en")
    nlp.add_pipe("transformer", config={"max_batch_items": 512, "model": {
        "@architectures": "spacy-transformers.TransformerModel.v1", "name": str(tiny_bert_path()),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 12, "stride": 8}}})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1",
                                                         "grad_factor": 1.0}}})
    from tests.helpers import tiny_examples

    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    texts = sample_texts(24)
    one = list(nlp.pipe(texts, batch_size=8))
    with time_limit(LIMIT, "a transformer nlp.pipe(n_process=2)"):
        two = list(nlp.pipe(texts, batch_size=8, n_process=2))
        dropped = list(nlp.pipe(texts, batch_size=8, n_process=2, keep_trf_data=False))
    assert [d.tags for d in two] == [d.tags for d in one] and all(all(d.tags) for d in two)
    for a, b in zip(one, two):
        ta, tb = a._.trf_data, b._.trf_data
        assert tb.wordpieces.strings == ta.wordpieces.strings
        assert numpy.array_equal(tb.align.lengths, ta.align.lengths) and numpy.array_equal(tb.spans, ta.spans)
        assert numpy.allclose(tb.tensors[-1], ta.tensors[-1], atol=1e-5)
        assert numpy.allclose(b.tensor if b.tensor is not None else 0, a.tensor if a.tensor is not None else 0)
    assert all(d._.trf_data is None for d in dropped) and [d.tags for d in dropped] == [d.tags for d in one]
    assert all(d._.trf_data is None for d in nlp.pipe(texts[:2], keep_trf_data=False))
    # the workers forked from a forkserver that imported the transformer's classes once (it was
    # restarted for them if a CNN pipeline started it first)
    wanted = multiprocess.preload_for(nlp)
    assert "transformers.models.bert.modeling_bert" in wanted and set(wanted) <= multiprocess._server_modules
    from multiprocessing import forkserver

    server_pid = forkserver._forkserver._forkserver_pid
    assert {w["ppid"] for w in multiprocess.last_profile().workers.values()} == {server_pid}


def test_what_cannot_cross_a_process_boundary_is_named_at_start(monkeypatch):
    nlp = workbench.blank("en")
    nlp.add_component("mine", tests.helpers.mp_components.MarkerComponent("mine"))
    with pytest.raises(ConfigError, match="component 'mine' was added with nlp.add_component"):
        nlp.pipe(["a text"], n_process=2)

    cell = types.ModuleType("notebook_cell")  # like a notebook's __main__: a module without a file
    monkeypatch.setitem(sys.modules, "notebook_cell", cell)
    exec("def notebook_setter(docs, trf_data):\n    pass\n", cell.__dict__)
    notebook_setter = cell.notebook_setter
    nlp = workbench.blank("en")
    comp = nlp.add_pipe("test_marker")
    comp.annotation_setter = notebook_setter
    with pytest.raises(ConfigError, match="annotation_setter = 'notebook_setter', defined in module 'notebook_cell', which has no file"):
        nlp.pipe(["a text"], n_process=2)
    exec("from tests.helpers.mp_components import MarkerComponent\n"
         "from workbench.registry import register_factory\n"
         "def make_cell_marker(nlp, name):\n    return MarkerComponent(name)\n"
         "register_factory('cell_marker', make_cell_marker)\n", cell.__dict__)
    nlp = workbench.blank("en")
    nlp.add_pipe("cell_marker")
    with pytest.raises(ConfigError, match=r"\[components.cell_marker\] uses 'cell_marker' \(factories\), which is defined in module 'notebook_cell'"):
        nlp.pipe(["a text"], n_process=2)
    with pytest.raises(ConfigError, match="n_process = 0"):
        nlp.pipe(["a text"], n_process=0)
    with pytest.raises(ConfigError, match="start_method = 'fork'; use one of forkserver, spawn"):
        multiprocess.pipe_in_processes(workbench.blank("en"), ["a text"], n_process=2, batch_size=1, start_method="fork")


def test_a_value_that_cannot_be_sent_is_named():
    from workbench.errors import DataError
    from workbench.pipeline.doc_transfer import doc_from_dict, doc_to_dict

    nlp = workbench.blank("en")
    doc = nlp("Hello there world")
    doc._.mp_n_chars = 3
    doc[1]._.is_long = numpy.arange(3)
    back = doc_from_dict(nlp.vocab, doc_to_dict(doc))
    assert back._.mp_n_chars == 3 and list(back[1]._.is_long) == [0, 1, 2] and back[0]._.is_long is None
    doc._.mp_n_chars = object()
    with pytest.raises(DataError, match="doc._.mp_n_chars holds a builtins.object, which cannot be sent"):
        doc_to_dict(doc)


def test_on_a_gpu_it_warns_and_runs_in_one_process(sample_nlp, monkeypatch):
    monkeypatch.setattr(multiprocess, "pipeline_on_gpu", lambda nlp: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = list(sample_nlp.pipe(sample_texts(5), n_process=2))
    assert len(docs) == 5 and any("runs on the GPU" in str(w.message) for w in caught)


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_each_worker_takes_its_thread_share_from_the_policy(start_method):
    """[system] n_threads = 4 over 2 workers: each gets 2, for BLAS (a thinc-only pipeline) and
    torch 1, as threads.thread_plan says; not the config's 4 when the worker loads the pipeline.
    Forked from the forkserver (whose own pools never ran) or spawned, the same."""
    from workbench.config import parse_config
    from workbench.threads import thread_plan, worker_share

    nlp = workbench.Pipeline.from_config(parse_config(
        "[system]\nn_threads = 4\n\n[components.probe]\nfactory = \"test_thread_probe\"\n"))
    with time_limit(LIMIT, "nlp.pipe(n_process=2) with the thread probe"):
        docs = list(multiprocess.pipe_in_processes(nlp, [f"text number {i}" for i in range(12)], batch_size=2,
                                                   n_process=2, start_method=start_method))
    assert multiprocess.last_profile().start_method == start_method
    pools = [d._.mp_pools for d in docs]
    assert os.getpid() not in {p["pid"] for p in pools}  # annotated in the workers
    plan = thread_plan(worker_share(4, 2), uses_torch=False)
    assert plan == {"blas": 2, "torch": 1}
    assert all(p["torch"] == plan["torch"] and p["blas"] == plan["blas"] for p in pools), pools


@pytest.mark.gpu
def test_on_a_real_gpu_it_warns_and_falls_back():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")
    from thinc.api import NumpyOps, require_gpu, set_current_ops

    from workbench.ops import use_blas_cpu_ops

    require_gpu()
    try:
        nlp = workbench.blank("en")
        nlp.add_pipe("tagger", config={"attr": "pos"})
        from tests.helpers import tiny_examples

        examples = tiny_examples(nlp)
        nlp.initialize(lambda: iter(examples))
        with pytest.warns(RuntimeWarning, match="runs on the GPU"):
            docs = list(nlp.pipe(["Alice works in Paris ."] * 4, n_process=2))
        assert len(docs) == 4 and all(all(d.pos) for d in docs)
    finally:
        set_current_ops(NumpyOps())
        use_blas_cpu_ops()
