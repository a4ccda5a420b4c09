"""[initialize] init_tok2vec: pretrained weights are loaded after initialization, reported,
checked against the pipeline's structure, and really used by training."""
import json
import subprocess
import sys

import numpy
import pytest
import srsly

import workbench
from tests.helpers import tiny_examples, zero_learn_rate
from tests.helpers.pretrain import pretraining_block, shared_config, tok2vec_block, write_texts
from workbench.config import apply_overrides, fill_config, parse_config
from workbench.errors import ConfigError, DataError
from workbench.pipeline.language import Pipeline
from workbench.pretraining.init_tok2vec import load_pretrained
from workbench.pretraining.loop import pretrain
from workbench.training.loop import train


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("init_tok2vec")
    texts = write_texts(root / "texts.jsonl")
    config = apply_overrides(shared_config(pretraining=pretraining_block(max_epochs=1)), {"paths.raw_text": str(texts)})
    pretrain(config, root / "pre", progress=False, stream=None)
    corpus = root / "train.jsonl"
    nlp = workbench.blank("en")
    corpus.write_text("".join(json.dumps(eg.reference.to_json()) + "\n" for eg in tiny_examples(nlp) * 2))
    return {"root": root, "texts": texts, "weights": root / "pre" / "model0.bin", "corpus": corpus}


def file_params(path):
    """[(layer index, param name, array)] as saved in a model{N}.bin."""
    msg = srsly.msgpack_loads(path.read_bytes())
    return [(i, name, numpy.asarray(value)) for i, params in enumerate(msg["params"])
            for name, value in (params or {}).items() if value is not None]


def params_of(model):
    nodes = list(model.walk())
    return {(i, name): numpy.array(nodes[i].get_param(name)) for i, node in enumerate(nodes)
            for name in node.param_names if node.has_param(name)}


def initialized(config):
    nlp = Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    return nlp


def test_loads_reports_layers_and_holds_the_files_weights(files):
    nlp = initialized(shared_config())
    model = nlp.get_pipe("tok2vec").model
    before = params_of(model)
    report = load_pretrained(nlp, files["weights"])
    assert report.component == "tok2vec" and report.layer == ""
    paths = [entry["path"] for entry in report.layers]
    assert "tok2vec/embed/hashembed[0]" in paths and "tok2vec/encode/maxout_norm[1]" in paths
    assert report.n_weights == sum(v.size for v in params_of(model).values())
    after = params_of(model)
    saved = file_params(files["weights"])
    assert len(saved) == len(after)
    for i, name, value in saved:
        numpy.testing.assert_array_equal(after[(i, name)], value)
    assert any(not numpy.array_equal(before[k], after[k]) for k in after)  # fresh init was replaced
    text = report.format()
    assert text.startswith("init_tok2vec: loaded") and "tok2vec/encode/maxout_norm[0]" in text and "W (32, 2, 96)" in text


@pytest.mark.parametrize("change, message", [
    ({"width": 48}, r"layer 0 'tok2vec' has nO = 32 in the file but nO = 48"),
    ({"depth": 3}, r"layer \d+ 'tok2vec/encode/residual.*\[2\]' is 'residual.*' in the pipeline but 'ragged2list' in the file"),
])
def test_mismatched_structure_is_refused_naming_the_layer(files, change, message):
    nlp = initialized(shared_config(**change))
    model = nlp.get_pipe("tok2vec").model
    before = params_of(model)
    with pytest.raises(ConfigError, match=message):
        load_pretrained(nlp, files["weights"])
    after = params_of(model)
    assert all(numpy.array_equal(before[k], after[k]) for k in before)  # nothing was written


def test_rows_mismatch_names_the_hash_table(files):
    nlp = initialized(shared_config(rows=(500, 200, 200, 100)))
    with pytest.raises(ConfigError, match=r"'tok2vec/embed/hashembed\[3\]' has nV = 200 in the file but nV = 100"):
        load_pretrained(nlp, files["weights"])


def test_embedding_component_is_found_whatever_it_is_called(files):
    nlp = initialized(shared_config(name="embedder"))
    report = load_pretrained(nlp, files["weights"], component="tok2vec")
    assert report.component == "embedder" and "not in the pipeline" in report.note
    saved = file_params(files["weights"])
    after = params_of(nlp.get_pipe("embedder").model)
    assert all(numpy.array_equal(after[(i, n)], v) for i, n, v in saved)


def test_missing_file_says_what_to_do(files):
    nlp = initialized(shared_config())
    with pytest.raises(DataError, match=r"no such file.*workbench pretrain"):
        load_pretrained(nlp, files["root"] / "nope.bin")


def train_config(files, learn_rate: float, **kw):
    config = shared_config(**kw)
    config = apply_overrides(config, {
        "paths.train": str(files["corpus"]), "paths.dev": str(files["corpus"]),
        "initialize.init_tok2vec": str(files["weights"]),
    })
    filled = fill_config(config)
    if learn_rate:
        filled["training"]["optimizer"]["learn_rate"] = learn_rate
    return filled


def test_training_starts_from_the_loaded_weights(files, capsys):
    saved = file_params(files["weights"])
    # learn_rate 0: after training, the embedding still holds exactly the pretrained weights,
    # so nothing (such as a later initialize) overwrote them.
    with zero_learn_rate():
        result = train(train_config(files, 0.0))
    assert "init_tok2vec: loaded" in capsys.readouterr().out
    frozen = params_of(result.nlp.get_pipe("tok2vec").model)
    for i, name, value in saved:
        numpy.testing.assert_array_equal(frozen[(i, name)], value)
    # A normal learning rate: training moves the weights a little, starting from the file.
    result = train(train_config(files, 0.001))
    moved = params_of(result.nlp.get_pipe("tok2vec").model)
    fresh = params_of(initialized(shared_config()).get_pipe("tok2vec").model)

    def distance(params):
        return sum(float(((params[(i, n)] - v) ** 2).sum()) for i, n, v in saved) ** 0.5

    norm = sum(float((v ** 2).sum()) for _, _, v in saved) ** 0.5
    assert 0 < distance(moved) < 0.05 * norm  # updated, from the pretrained point
    assert distance(fresh) > 0.5 * norm  # what a re-initialization would look like


def test_component_and_layer_come_from_the_pretraining_block(files, tmp_path):
    """An independent tagger: pretrain its own tok2vec, then train with the same config."""
    text = f"""
[nlp]
lang = "en"
pipeline = ["tagger"]

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "workbench.Tagger.v1"
nO = null
{tok2vec_block("components.tagger.model.tok2vec")}
[training]
max_steps = 1
eval_frequency = 1

{pretraining_block(max_epochs=1, component="tagger", layer="tok2vec")}
"""
    config = apply_overrides(parse_config(text), {"paths.raw_text": str(files["texts"])})
    result = pretrain(config, tmp_path / "pre", progress=False, stream=None)
    assert (result.component, result.layer) == ("tagger", "tok2vec")
    weights = tmp_path / "pre" / "model0.bin"
    config = apply_overrides(config, {"paths.train": str(files["corpus"]), "paths.dev": str(files["corpus"]),
                                      "initialize.init_tok2vec": str(weights)})
    filled = fill_config(config)
    with zero_learn_rate():
        trained = train(filled).nlp
    tok2vec = trained.get_pipe("tagger").model.get_ref("tok2vec")
    got = params_of(tok2vec)
    assert all(numpy.array_equal(got[(i, n)], v) for i, n, v in file_params(weights))


def test_init_tok2vec_through_the_cli(files, tmp_path):
    cfg = tmp_path / "train.cfg"
    cfg.write_text(fill_config(shared_config()).to_str())
    res = subprocess.run(
        [sys.executable, "-m", "workbench", "train", str(cfg), "--paths.train", str(files["corpus"]),
         "--paths.dev", str(files["corpus"]), "--paths.init_tok2vec", str(files["weights"]), "--no-progress"],
        capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "init_tok2vec: loaded" in res.stdout and "tok2vec/embed/hashembed[0]" in res.stdout
