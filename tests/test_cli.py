"""The command line: init config, fill-config, debug config, train, evaluate, Ctrl-C."""
import json
import signal
import subprocess
import sys
import time

import pytest

import workbench
from tests.helpers import tiny_examples
from workbench.config import missing_values, parse_config


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.jsonl"
    nlp = workbench.blank("en")
    with path.open("w") as f:
        for _ in range(5):
            for eg in tiny_examples(nlp):
                f.write(json.dumps(eg.reference.to_json()) + "\n")
    return path


def small_config(tmp_path, corpus, pipeline="tagger", shared=True, extra=()):
    cfg = tmp_path / "config.cfg"
    res = run("init", "config", cfg, "--pipeline", pipeline, "--shared" if shared else "--independent")
    assert res.returncode == 0, res.stderr
    return cfg


def test_init_config_writes_complete_shared_and_independent_configs(tmp_path):
    for flag in ("--shared", "--independent"):
        out = tmp_path / f"c{flag}.cfg"
        assert run("init", "config", out, "--pipeline", "tagger", flag).returncode == 0
        config = parse_config(out.read_text())
        assert missing_values(config) == []
        tagger_tok2vec = config["components"]["tagger"]["model"]["tok2vec"]["@architectures"]
        if flag == "--shared":
            assert config["nlp"]["pipeline"] == ["tok2vec", "tagger"]
            assert tagger_tok2vec == "workbench.Tok2VecListener.v1"
        else:
            assert config["nlp"]["pipeline"] == ["tagger"]
            assert tagger_tok2vec == "workbench.Tok2Vec.v1"
    res = run("init", "config", tmp_path / "x.cfg", "--pipeline", "lemmatizer")
    assert res.returncode == 1 and "unknown component 'lemmatizer'" in res.stderr


def test_init_config_optimize_accuracy_writes_character_embeddings_that_train(tmp_path, corpus):
    out = tmp_path / "acc.cfg"
    res = run("init", "config", out, "--pipeline", "tagger,ner", "--optimize", "accuracy")
    assert res.returncode == 0, res.stderr
    config = parse_config(out.read_text())
    assert missing_values(config) == []
    model = config["components"]["tok2vec"]["model"]
    assert model["embed"]["@architectures"] == "workbench.CharacterEmbed.v1" and model["embed"]["width"] == 192
    assert model["encode"]["width"] == 192
    embed = model["embed"]  # the features: affixes and shape, an n-gram bag, word dropout
    assert embed["attrs"] == ["PREFIX", "SUFFIX", "SHAPE"] and embed["ngrams"] == [3, 4, 5]
    assert embed["word_dropout"] == 0.15
    T = config["training"]  # the preset's training: more epochs, a learn rate that decays to the run's end
    assert T["max_epochs"] == 18 and T["patience"] == 0 and T["dropout"] == 0.2
    assert config["components"]["tagger"]["label_smoothing"] == 0.1
    assert T["optimizer"]["learn_rate"]["@schedules"] == "workbench.warmup_decay_to_end.v1"
    default = parse_config(run("init", "config", "-", "--pipeline", "tagger,ner").stdout)
    assert default["components"]["tok2vec"]["model"]["embed"]["@architectures"] == "workbench.MultiHashEmbed.v1"
    assert default["training"]["max_epochs"] == 0 and default["training"]["optimizer"]["learn_rate"] == 0.001
    assert default["components"]["tagger"]["label_smoothing"] == 0.0
    res = run("train", out, "--output", tmp_path / "run", "--paths.train", corpus, "--paths.dev", corpus,
              "--training.max_steps", "4", "--training.eval_frequency", "2", "--no-progress")
    assert res.returncode == 0, res.stderr
    nlp = workbench.load(tmp_path / "run" / "model-last")
    embed = nlp.get_pipe("tok2vec").model.get_ref("embed")
    assert embed.name == "character_embed"
    assert {"ngram_bag", "word_dropout"} <= {node.name for node in embed.walk()}
    doc = nlp("The runner was running quickly.")
    assert len(doc) == 6 and all(t.tag_ for t in doc)  # the saved model, loaded, tags
    res = run("init", "config", tmp_path / "y.cfg", "--optimize", "speed")
    assert res.returncode != 0 and "speed" in res.stderr


def test_debug_config_marks_written_and_default_values(tmp_path):
    cfg = tmp_path / "c.cfg"
    cfg.write_text('[components.tok2vec]\nfactory = "tok2vec"\n\n[components.tok2vec.model]\n@architectures = "workbench.HashEmbedCNN.v1"\nwidth = 48\n')
    res = run("debug", "config", cfg)
    assert res.returncode == 0, res.stderr
    assert "width = 48    # written" in res.stdout
    assert "depth = 4    # default" in res.stdout


def test_train_refuses_incomplete_config_listing_missing_keys(tmp_path, corpus):
    cfg = tmp_path / "c.cfg"
    cfg.write_text('[components.tok2vec]\nfactory = "tok2vec"\n')
    res = run("train", cfg, "--paths.train", corpus, "--paths.dev", corpus)
    assert res.returncode == 1
    assert "missing value(s)" in res.stderr and "[training] max_steps" in res.stderr


def test_train_and_evaluate_end_to_end(tmp_path, corpus):
    cfg = small_config(tmp_path, corpus)
    out = tmp_path / "out"
    res = run("train", cfg, "--output", out, "--paths.train", corpus, "--paths.dev", corpus,
              "--training.max_steps", 40, "--training.eval_frequency", 20, "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "TAG_ACC" in res.stdout and "SCORE" in res.stdout
    assert (out / "model-best" / "config.cfg").exists() and (out / "model-last" / "config.cfg").exists()
    metrics = tmp_path / "metrics.json"
    res = run("evaluate", out / "model-best", corpus, "--output", metrics)
    assert res.returncode == 0, res.stderr
    scores = json.loads(metrics.read_text())
    assert 0.5 < scores["tag_acc"] <= 1.0
    assert "tag_acc" in res.stdout


def test_train_without_corpus_path_says_which_flag(tmp_path, corpus):
    cfg = small_config(tmp_path, corpus)
    res = run("train", cfg)
    assert res.returncode == 1
    assert "--paths.train" in res.stderr


def test_ctrl_c_saves_model_last(tmp_path, corpus):
    cfg = small_config(tmp_path, corpus)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "train", str(cfg), "--output", str(out), "--paths.train", str(corpus),
         "--paths.dev", str(corpus), "--training.max_steps", "100000", "--training.eval_frequency", "100000", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("Training:"):
            break
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (out / "model-last" / "config.cfg").exists()
    assert "model-last was saved" in err


def test_debug_data_exits_nonzero_on_unusable_data(tmp_path, corpus):
    res = run("debug", "data", corpus)
    assert res.returncode == 0, res.stderr
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tHello\n\n")
    res = run("debug", "data", bad)
    assert res.returncode == 1
    assert "bad.conllu:1" in res.stdout
