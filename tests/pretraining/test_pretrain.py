"""Pretraining: fill-config --pretraining, the pretrain command, objectives, masking, resume, bad input."""
import json
import re
import signal
import subprocess
import sys

import numpy
import pytest
import srsly

import workbench
from tests.helpers.pretrain import pretraining_block, shared_config, write_texts, write_vectors
from workbench.config import apply_overrides, missing_values, parse_config
from workbench.errors import ConfigError, DataError
from workbench.models.pretrain import N_CHAR_CLASSES, PretrainCharacters, PretrainVectors
from workbench.pretraining.loop import MASK, fill_pretraining_config, mask_docs, pretrain
from workbench.vectors.table import Vectors


def run(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def texts(tmp_path):
    return write_texts(tmp_path / "texts.jsonl")


def with_texts(config, texts, **overrides):
    return apply_overrides(config, {"paths.raw_text": str(texts), **overrides})


def losses(result):
    return [row["loss"] for row in result.epochs]


# ------------------------------------------------------------------ config


def test_fill_config_pretraining_writes_a_complete_block(tmp_path):
    src = tmp_path / "in.cfg"
    src.write_text(shared_config(name="embedder").to_str())
    out = tmp_path / "out.cfg"
    res = run("init", "fill-config", src, out, "--pretraining")
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    config = parse_config(text)
    P = config["pretraining"]
    for key in ("max_epochs", "dropout", "n_save_every", "n_save_epoch", "component", "layer", "corpus",
                "batcher", "objective", "optimizer"):
        assert key in P, key
    assert P["component"] == "embedder" and P["layer"] == ""  # the config's own embedding, whatever its name
    assert P["corpus"] == "corpora.pretrain"
    assert P["objective"]["@architectures"] == "workbench.PretrainCharacters.v1"
    assert P["objective"]["n_characters"] == 4 and "maxout_pieces" in P["objective"] and "hidden_size" in P["objective"]
    assert P["batcher"]["@batchers"] == "workbench.batch_by_words.v1"
    assert P["optimizer"]["@optimizers"] == "Adam.v1"
    assert config["corpora"]["pretrain"]["@readers"] == "workbench.JsonlCorpus.v1"
    assert "path = ${paths.raw_text}" in text
    assert missing_values(config) == []  # still a valid training config


def test_independent_tagger_gets_its_own_tok2vec_as_target():
    config = parse_config('[components.tagger]\nfactory = "tagger"\n\n[components.tagger.model]\n'
                          '@architectures = "workbench.Tagger.v1"\n\n[components.tagger.model.tok2vec]\n'
                          '@architectures = "workbench.HashEmbedCNN.v1"\nwidth = 16\ndepth = 1\nembed_size = 100\n')
    filled = fill_pretraining_config(config)
    assert (filled["pretraining"]["component"], filled["pretraining"]["layer"]) == ("tagger", "tok2vec")


def test_spacy_objective_names_are_aliases(tmp_path):
    from workbench.config import resolve_block

    chars = resolve_block({"@architectures": "spacy.PretrainCharacters.v1", "n_characters": 2}, "pretraining.objective")
    vecs = resolve_block({"@architectures": "spacy.PretrainVectors.v1", "loss": "L2"}, "pretraining.objective")
    assert chars.name == "characters" and chars.n_characters == 2
    assert vecs.name == "vectors" and vecs.loss == "l2"
    with pytest.raises(ConfigError, match="cosine"):
        PretrainVectors(loss="manhattan")


# ------------------------------------------------------------------ the command


def test_pretrain_cli_writes_weights_and_log(tmp_path, texts):
    cfg = tmp_path / "pre.cfg"
    cfg.write_text(shared_config(pretraining=pretraining_block(max_epochs=2)).to_str())
    out = tmp_path / "out"
    res = run("pretrain", texts, out, cfg, "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "words/s" in res.stdout and "characters objective" in res.stdout
    for name in ("model0.bin", "model1.bin", "log.jsonl", "config.cfg"):
        assert (out / name).exists(), name
    data = (out / "model0.bin").read_bytes()
    assert data[:1] != b"\x80"  # not a pickle
    msg = srsly.msgpack_loads(data)
    assert msg["nodes"][0]["name"] == "tok2vec"  # the embedding layer only, no objective head
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert all(r["loss"] > 0 and r["words_per_second"] > 0 and r["words"] > 0 for r in rows)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_ends_the_epoch_saves_it_and_says_how_to_resume(tmp_path, texts, sig):
    cfg = tmp_path / "pre.cfg"
    cfg.write_text(shared_config(pretraining=pretraining_block(max_epochs=100000)).to_str())
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "pretrain", str(texts), str(out), str(cfg),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("epoch    1 "):  # two epochs saved; the third is running
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert "Traceback" not in err
    (saved,) = re.findall(r"stopped early and was saved as (\S+model(\d+)\.bin)\. Go on with", err)
    assert int(saved[1]) >= 2 and f"--resume-path {saved[0]}" in err
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert rows[-1]["epoch"] == int(saved[1]) and rows[-1]["stopped"]
    assert srsly.msgpack_loads((out / f"model{saved[1]}.bin").read_bytes())["nodes"][0]["name"] == "tok2vec"
    assert not [p.name for p in out.iterdir() if ".partial-" in p.name]
    cfg.write_text(shared_config(pretraining=pretraining_block(max_epochs=int(saved[1]) + 2)).to_str())
    res = run("pretrain", texts, out, cfg, "--no-progress", "--resume-path", saved[0])
    assert res.returncode == 0, res.stderr
    assert (out / f"model{int(saved[1]) + 1}.bin").exists()


def test_a_failed_write_leaves_the_saved_weights_whole(tmp_path, texts, monkeypatch):
    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=1)), texts)
    out = tmp_path / "out"
    pretrain(config, out, progress=False, stream=None)
    before = (out / "model0.bin").read_bytes()

    def half_then_fail(self, data):  # a full disk or a kill halfway through the write
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(out), "write_bytes", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        pretrain(config, out, progress=False, stream=None)
    assert (out / "model0.bin").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["config.cfg", "log.jsonl", "model0.bin", "model0.head.bin"]


def test_pretrain_without_pretraining_block_says_how_to_add_it(tmp_path, texts):
    cfg = tmp_path / "plain.cfg"
    cfg.write_text(shared_config().to_str())
    res = run("pretrain", texts, tmp_path / "out", cfg)
    assert res.returncode == 1 and "--pretraining" in res.stderr


def test_characters_loss_decreases(tmp_path, texts):
    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=6)), texts)
    result = pretrain(config, tmp_path / "out", progress=False, stream=None)
    values = losses(result)
    assert values[-1] < 0.8 * values[0], values
    assert len(result.saved) == 6 and result.component == "tok2vec"


def test_predict_masked_scores_only_the_masked_tokens(tmp_path, texts):
    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=1)), texts,
                        **{"pretraining.predict": "masked", "pretraining.mask_prob": 0.3})
    row = pretrain(config, tmp_path / "out", progress=False, stream=None).epochs[0]
    assert 0 < row["scored"] < 0.5 * row["words"]
    with pytest.raises(ConfigError, match="predict"):
        pretrain(with_texts(config, texts, **{"pretraining.predict": "some"}), tmp_path / "o2", progress=False,
                 stream=None)


@pytest.mark.parametrize("loss", ["cosine", "L2"])
def test_vectors_objective_loss_decreases(tmp_path, texts, loss):
    vectors = write_vectors(tmp_path)
    block = pretraining_block(objective="vectors", max_epochs=6, loss=loss)
    config = with_texts(shared_config(static=True, pretraining=block), texts, **{"initialize.vectors": str(vectors)})
    result = pretrain(config, tmp_path / "out", progress=False, stream=None)
    values = losses(result)
    assert values[-1] < 0.9 * values[0], values
    assert result.epochs[0]["scored"] < result.epochs[0]["words"]  # punctuation has no vector: not scored


def test_vectors_objective_needs_vectors(tmp_path, texts):
    config = with_texts(shared_config(pretraining=pretraining_block(objective="vectors")), texts)
    with pytest.raises(ConfigError, match=r"no vectors.*\[initialize\] vectors"):
        pretrain(config, tmp_path / "out", progress=False, stream=None)


def test_vectors_objective_refuses_texts_without_any_known_word(tmp_path):
    vectors = write_vectors(tmp_path)
    texts = write_texts(tmp_path / "other.jsonl", ["Zyx qwv plonk, vrrm blee!", "Frob zorp quux nib."])
    config = with_texts(shared_config(pretraining=pretraining_block(objective="vectors")), texts,
                        **{"initialize.vectors": str(vectors), "corpora.pretrain.min_length": 1})
    with pytest.raises(DataError, match="no word has a vector"):
        pretrain(config, tmp_path / "out", progress=False, stream=None)


def test_resume_continues_from_the_saved_epoch(tmp_path, texts):
    out = tmp_path / "out"
    first = pretrain(with_texts(shared_config(pretraining=pretraining_block(max_epochs=2)), texts), out,
                     progress=False, stream=None)
    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=4)), texts)
    second = pretrain(config, out, resume_path=out / "model1.bin", progress=False, stream=None)
    assert [r["epoch"] for r in second.epochs] == [2, 3]
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]  # the log is continued
    assert second.epochs[0]["loss"] < first.epochs[0]["loss"]  # not starting from scratch
    assert (out / "model3.bin").exists()
    third = pretrain(config, tmp_path / "out2", resume_path=out / "model1.bin", epoch_resume=3,
                     progress=False, stream=None)
    assert [r["epoch"] for r in third.epochs] == [3]


def test_resume_refuses_other_structure_and_unnamed_files(tmp_path, texts):
    out = tmp_path / "out"
    pretrain(with_texts(shared_config(pretraining=pretraining_block(max_epochs=1)), texts), out,
             progress=False, stream=None)
    wider = with_texts(shared_config(width=48, pretraining=pretraining_block(max_epochs=2)), texts)
    with pytest.raises(ConfigError, match=r"--resume-path: .*layer 0 'tok2vec' has nO = 32 in the file but nO = 48"):
        pretrain(wider, tmp_path / "o2", resume_path=out / "model0.bin", progress=False, stream=None)
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes((out / "model0.bin").read_bytes())
    same = with_texts(shared_config(pretraining=pretraining_block(max_epochs=2)), texts)
    with pytest.raises(ConfigError, match="--epoch-resume"):
        pretrain(same, tmp_path / "o3", resume_path=renamed, progress=False, stream=None)


def test_pretrain_falls_back_to_the_embedding_component_whatever_its_name(tmp_path, texts):
    config = with_texts(shared_config(name="embedder", pretraining=pretraining_block(component="tok2vec")), texts)
    result = pretrain(config, tmp_path / "out", progress=False, stream=None)
    assert result.component == "embedder"


def test_pretraining_a_listener_is_refused(tmp_path, texts):
    config = with_texts(shared_config(pretraining=pretraining_block(component="tagger")), texts)
    with pytest.raises(ConfigError, match="listener"):
        pretrain(config, tmp_path / "out", progress=False, stream=None)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("content, message", [
    ('{"text": "A fine first line of text here."}\n\n{"text": "Another line of text here."}\n', r":2: empty line"),
    ('{"text": "A fine first line of text here."}\n{"txt": "Another line."}\n', r':2: no "text" key'),
])
def test_bad_lines_name_file_and_line(tmp_path, content, message):
    texts = tmp_path / "bad.jsonl"
    texts.write_text(content)
    cfg = tmp_path / "pre.cfg"
    cfg.write_text(shared_config(pretraining=pretraining_block()).to_str())
    res = run("pretrain", texts, tmp_path / "out", cfg, "--no-progress")
    assert res.returncode == 1
    assert re.search(re.escape(str(texts)) + message, res.stderr), res.stderr


# ------------------------------------------------------------------ pieces


def test_mask_docs_hides_about_mask_prob_of_tokens_and_keeps_originals():
    nlp = workbench.blank("en")
    docs = [nlp.make_doc(" ".join(f"w{i}" for i in range(200))) for _ in range(5)]
    before = [list(d.words) for d in docs]
    masked, chosen = mask_docs(docs, numpy.random.default_rng(0), 0.3)
    assert [d.words for d in docs] == before
    old = [w for d in docs for w in d.words]
    new = [w for m in masked for w in m.words]
    changed = numpy.array([a != b for a, b in zip(old, new)])
    assert chosen.shape == (1000,) and 0.25 * 1000 < chosen.sum() < 0.35 * 1000
    assert not changed[~chosen].any()  # only chosen tokens change
    assert 0.8 * chosen.sum() < changed.sum() < chosen.sum()  # 10% of the chosen stay as they are
    assert sum(w == MASK for w in new) > 0.7 * chosen.sum()
    same, none = mask_docs(docs, numpy.random.default_rng(0), 0.0)
    assert [d.words for d in same] == before and not none.any()


def test_character_targets():
    obj = PretrainCharacters(n_characters=4)
    got = obj.char_classes("cat").tolist()
    c, a, t = (ord(x) % 255 + 1 for x in "cat")
    assert got == [c, a, t, 0, t, a, c, 0]  # first 4 characters, then the last 4 from the end
    assert max(obj.char_classes("ẞüñ")) < N_CHAR_CLASSES


def _numeric_grad(f, Y, eps=1e-3):
    grad = numpy.zeros_like(Y)
    for idx in numpy.ndindex(*Y.shape):
        old = Y[idx]
        Y[idx] = old + eps
        up = f(Y)
        Y[idx] = old - eps
        down = f(Y)
        Y[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("loss", ["cosine", "L2"])
def test_vectors_loss_gradient_matches_finite_differences(loss):
    nlp = workbench.blank("en")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=numpy.random.default_rng(1).normal(size=(2, 3)).astype("f"),
                                keys=["cat", "dog"])
    docs = [nlp.make_doc("cat and dog")]
    obj = PretrainVectors(loss=loss)
    Y = numpy.random.default_rng(2).normal(size=(3, 3)).astype("float64")
    value, dY, n = obj.get_loss(docs, Y)
    assert n == 2 and not dY[1].any()  # "and" has no vector: no gradient
    numpy.testing.assert_allclose(dY, _numeric_grad(lambda y: obj.get_loss(docs, y)[0], Y), rtol=1e-3, atol=1e-5)


def test_characters_loss_gradient_matches_finite_differences():
    nlp = workbench.blank("en")
    obj = PretrainCharacters(n_characters=1)
    docs = [nlp.make_doc("a bc")]
    Y = numpy.random.default_rng(3).normal(size=(2, 2 * N_CHAR_CLASSES)).astype("float64")
    value, dY, n = obj.get_loss(docs, Y)
    numeric = _numeric_grad(lambda y: obj.get_loss(docs, y)[0], Y)
    numpy.testing.assert_allclose(dY, numeric, rtol=1e-3, atol=1e-5)


def test_objectives_score_only_the_predicted_rows():
    nlp = workbench.blank("en")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=numpy.ones((2, 3), dtype="f"), keys=["cat", "dog"])
    docs = [nlp.make_doc("cat and"), nlp.make_doc("dog")]
    chars = PretrainCharacters(n_characters=1)
    Y = numpy.random.default_rng(4).normal(size=(3, 2 * N_CHAR_CLASSES)).astype("f")
    value, dY, n = chars.get_loss(docs, Y[[2]], numpy.array([2]))
    alone = chars.get_loss([nlp.make_doc("dog")], Y[[2]])
    assert n == 1 and dY.shape == (1, 2 * N_CHAR_CLASSES) and value == pytest.approx(alone[0], rel=1e-5)
    vecs = PretrainVectors(loss="L2")
    assert vecs.get_loss(docs, numpy.zeros((1, 3), "f"), numpy.array([1]))[2] == 0  # "and": no vector
    value, dY, n = vecs.get_loss(docs, numpy.zeros((2, 3), "f"), numpy.array([0, 2]))
    assert n == 2 and value == pytest.approx(3.0)  # |0 - 1|^2 summed over 3 dims, per token


def test_pretrain_reports_events_to_subscribers(tmp_path, texts):
    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=2)), texts)
    events = []
    result = pretrain(config, tmp_path / "out", progress=False, stream=None, subscribers=[events.append])
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 2
    steps = [e for e in events if e.kind == "step"]
    assert steps and [e.step for e in steps] == list(range(1, len(steps) + 1))
    assert all(e.losses["pretraining"] > 0 for e in steps)
    epoch_rows = [e.scores for e in events if e.kind == "epoch"]
    assert epoch_rows == result.epochs  # the same rows as log.jsonl
    assert [e.output_path for e in events if e.kind == "epoch"] == result.saved


def test_pretrain_stop_ends_the_running_epoch_and_saves_it(tmp_path, texts):
    import threading

    config = with_texts(shared_config(pretraining=pretraining_block(max_epochs=5)), texts)
    stop = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.kind == "step" and event.step == 2:
            stop.set()

    result = pretrain(config, tmp_path / "out", progress=False, stream=None, subscribers=[on_event], stop=stop)
    assert result.stopped_by == "stop requested" and events[-1].kind == "stop"
    assert len(result.epochs) == 1 and result.epochs[0]["stopped"] is True
    assert result.epochs[0]["batches"] == 2
    assert (tmp_path / "out" / "model0.bin").exists() and not (tmp_path / "out" / "model1.bin").exists()
