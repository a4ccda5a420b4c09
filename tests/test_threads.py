"""The thread policy: pool sizes as threadpoolctl and torch report them, [system] n_threads."""
import threading

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import workbench
from tests.helpers import tiny_examples
from tests.helpers.trf import tiny_bert_path
from workbench import threads
from workbench.config import fill_config, parse_config
from workbench.errors import ConfigError

CNN = """
[system]
n_threads = {n}

[components.tok2vec]
factory = "tok2vec"

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"

[components.ner]
factory = "ner"

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
"""

TRF = """
[system]
n_threads = {n}

[components.transformer]
factory = "transformer"

[components.transformer.model]
name = "{path}"

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
"""


@pytest.fixture(autouse=True)
def restore_pools():
    """Each test changes process-wide pools: put them back afterwards."""
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    n_torch = torch.get_num_threads()
    yield
    if blas:
        threadpool_limits(limits=blas[0], user_api="blas")
    torch.set_num_threads(n_torch)
    threads._applied = None


def reported():
    """Pool sizes as threadpoolctl reports them: BLAS (numpy's OpenBLAS) and OpenMP (torch's)."""
    info = threadpool_info()
    blas = {p["num_threads"] for p in info if p["user_api"] == "blas"}
    omp = {p["num_threads"] for p in info if p["user_api"] == "openmp"}
    assert blas, "numpy's BLAS is not visible to threadpoolctl"
    return blas, omp


@pytest.mark.parametrize("n", [1, 3])
def test_cnn_pipeline_gives_blas_the_threads(n):
    nlp = workbench.Pipeline.from_config(parse_config(CNN.format(n=n)))
    assert not threads.uses_torch(nlp)
    blas, omp = reported()
    assert blas == {n}
    assert torch.get_num_threads() == 1 and omp <= {1}
    nlp.initialize(lambda: tiny_examples(nlp))
    nlp.update(tiny_examples(nlp))  # still so after work
    assert reported()[0] == {n}


@pytest.mark.parametrize("n", [1, 3])
def test_transformer_pipeline_gives_torch_the_threads(n):
    nlp = workbench.Pipeline.from_config(parse_config(TRF.format(n=n, path=tiny_bert_path())))
    assert threads.uses_torch(nlp)
    blas, omp = reported()
    assert blas == {1}
    assert torch.get_num_threads() == n and omp == {n}
    nlp.initialize(lambda: tiny_examples(nlp))
    docs = list(nlp.pipe(["Alice works for Acme in Paris ."]))
    assert docs[0][0].pos_
    seen = []  # training in a notebook runs in a background thread: torch's size holds there too
    worker = threading.Thread(target=lambda: (nlp.update(tiny_examples(nlp)), seen.append(torch.get_num_threads())))
    worker.start()
    worker.join()
    assert seen == [n]
    assert reported()[0] == {1}


def test_default_is_the_idle_cores_of_the_process(monkeypatch):
    monkeypatch.setattr(threads, "idle_cores", lambda: 3)  # as if 3 cores were free
    nlp = workbench.blank("en")
    nlp.add_pipe("tok2vec")
    assert reported()[0] == {3}
    nlp.add_pipe("transformer", config={"model": {"name": str(tiny_bert_path())}})  # the last built decides
    assert reported()[0] == {1}
    assert torch.get_num_threads() == 3


def test_idle_cores_are_measured_within_the_affinity(monkeypatch):
    monkeypatch.setattr(threads, "_idle_cache", (-1e9, 0))
    n = threads.idle_cores(0.05)
    assert 1 <= n <= threads.available_cores()
    assert threads.idle_cores() == n  # remembered, not measured again at once


def test_idle_cores_leave_out_busy_ones(monkeypatch):
    """Two readings of /proc/stat where 3 of 4 cores were busy: 1 core is idle."""
    readings = iter([(100.0, 400.0), (125.0, 500.0)])  # idle jiffies grew 25 of 100
    monkeypatch.setattr(threads, "_cpu_times", lambda cpus: next(readings))
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "_idle_cache", (-1e9, 0))
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    assert threads.idle_cores() == 1


def test_loaded_pipeline_applies_its_setting(tmp_path):
    nlp = workbench.Pipeline.from_config(parse_config(CNN.format(n=3)))
    nlp.initialize(lambda: tiny_examples(nlp))
    nlp.to_disk(tmp_path / "p")
    threadpool_limits(limits=2, user_api="blas")
    threads._applied = None
    workbench.load(tmp_path / "p")
    assert reported()[0] == {3}


def test_worker_share_splits_the_total():
    assert threads.worker_share(8, 4) == 2
    assert threads.worker_share(2, 4) == 1
    assert 1 <= threads.worker_share(None, 1) <= threads.available_cores()
    assert threads.thread_plan(4, uses_torch=True) == {"blas": 1, "torch": 4}
    assert threads.thread_plan(4, uses_torch=False) == {"blas": 4, "torch": 1}


@pytest.mark.parametrize("value", ["0", "-2", '"two"', "1.5", "true"])
def test_bad_n_threads_is_refused(value):
    with pytest.raises(ConfigError, match=r"\[system\] n_threads = .*positive whole number"):
        fill_config(parse_config(CNN.replace("{n}", value)))


def test_unknown_system_key_is_refused():
    with pytest.raises(ConfigError, match=r"\[system\]: unknown setting 'n_thread'. Did you mean 'n_threads'\?"):
        fill_config(parse_config("[system]\nn_thread = 2\n"))


def test_override_sets_n_threads():
    from workbench.config import apply_overrides

    config = apply_overrides(parse_config(CNN.format(n=1)), {"system.n_threads": 3})
    assert fill_config(config)["system"]["n_threads"] == 3
    workbench.Pipeline.from_config(config)
    assert reported()[0] == {3}


def _samples(monkeypatch, others_per_call, cores=2):
    """Fake `_sample`s one second apart (as stamps; the real clock is far ahead of them, so every
    call is due) in which other processes kept `others` cores busy and this process used none."""
    state = {"t": 0.0, "idle": 0.0, "total": 0.0}

    def sample():
        others = next(others_per_call)
        state["t"] += 1.0
        state["total"] += 100.0 * cores
        state["idle"] += 100.0 * (cores - others)
        return state["t"], state["idle"], state["total"], 0.0

    monkeypatch.setattr(threads, "_sample", sample)
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    monkeypatch.setattr(threads, "_last_sample", None)


def test_follow_load_gives_a_core_to_a_neighbour_that_arrives_and_takes_it_back(monkeypatch):
    nlp = workbench.blank("en")
    nlp.add_pipe("tok2vec")  # n_threads null: BLAS takes the idle cores
    _samples(monkeypatch, iter([0.0, 0.0, 1.0, 1.0, 0.0]))
    threads.apply_thread_policy(2, uses_torch=False)
    assert threads.follow_load(nlp) is None  # the first call only takes a sample
    assert threads.follow_load(nlp) is None and reported()[0] == {2}  # quiet: unchanged
    assert threads.follow_load(nlp) == {"blas": 1, "torch": 1} and reported()[0] == {1}  # a neighbour came
    assert threads.follow_load(nlp) is None and reported()[0] == {1}
    assert threads.follow_load(nlp) == {"blas": 2, "torch": 1} and reported()[0] == {2}  # and left


def test_follow_load_keeps_a_number_written_in_the_config(monkeypatch):
    nlp = workbench.Pipeline.from_config(parse_config(CNN.format(n=2)))
    _samples(monkeypatch, iter([0.0, 2.0, 2.0]))
    assert threads.follow_load(nlp) is None and threads.follow_load(nlp) is None
    assert reported()[0] == {2}


def test_follow_load_runs_in_training_between_batches(monkeypatch):
    nlp = workbench.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("tagger", config={"attr": "pos"})
    nlp.initialize(lambda: tiny_examples(nlp))
    _samples(monkeypatch, iter([0.0, 1.0, 1.0]))
    threads.apply_thread_policy(2, uses_torch=False)
    nlp.update(tiny_examples(nlp))  # first sample
    nlp.update(tiny_examples(nlp))  # a neighbour took a core
    assert reported()[0] == {1}
    list(nlp.pipe(["Alice works in Paris ."]))  # still there
    assert reported()[0] == {1}


def test_others_busy_cores_counts_a_real_neighbour_and_not_this_process():
    """A spinning child process reads as about one busy core; this process's own work reads as none."""
    import subprocess
    import sys
    import time

    before = threads._sample()
    end = time.perf_counter() + 0.6
    while time.perf_counter() < end:  # this process spins: its own CPU time is left out
        pass
    mine = threads.others_busy_cores(before, threads._sample())
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 5\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.3)  # let it start
        before = threads._sample()
        time.sleep(1.0)
        theirs = threads.others_busy_cores(before, threads._sample())
    finally:
        spinner.kill()
        spinner.wait()
    assert theirs - mine > 0.4, (mine, theirs)  # the neighbour shows, this process's own work does not


@pytest.mark.parametrize("uses_torch", [False, True])
def test_worker_threads_hold_both_pools_at_one_thread_meanwhile(uses_torch):
    plan = threads.apply_thread_policy(2, uses_torch=uses_torch)
    with threads.worker_threads() as k:
        assert k == 2
        assert reported()[0] == {1} and torch.get_num_threads() == 1
    assert reported()[0] == {plan["blas"]} and torch.get_num_threads() == plan["torch"]
    threads.apply_thread_policy(1, uses_torch=uses_torch)
    with threads.worker_threads() as k:
        assert k == 1
    threads._applied = None  # before any pipeline: one worker
    with threads.worker_threads() as k:
        assert k == 1
