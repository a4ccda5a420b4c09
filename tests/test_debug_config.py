"""`debug config` catches what `train` would refuse, before reading data: it builds the
pipeline (components, models, span getters, listeners) without loading weights or
data. Files that are not configs get one clear sentence; syntax errors give the
line of the user's own file."""
import json

import pytest

import workbench
from tests.helpers import tiny_examples
from tests.helpers.sample import SAMPLE
from tests.helpers.trf import tiny_bert_path
from workbench.cli import main
from workbench.commands import build_init_config
from workbench.config import fill_config, load_config
from workbench.errors import ConfigError
from workbench.preflight import pipeline_issues

TRF = SAMPLE / "configs" / "transformer.cfg"


def cli(capsys, *args):
    """(exit code, stderr) of `python -m workbench ARGS`, run in this process."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def trf_args(**overrides):
    """Overrides of the sample transformer config, with the tiny BERT as its model."""
    values = {"components.transformer.model.name": str(tiny_bert_path()), **overrides}
    return [x for key, value in values.items() for x in (f"--{key}", json.dumps(value) if isinstance(value, dict) else value)]


def missing_corpus(tmp_path):
    """Corpus paths that do not exist: a check that reads data would fail on them first."""
    gone = str(tmp_path / "no-such-corpus.jsonl")
    return ["--paths.train", gone, "--paths.dev", gone]


def without_tok2vec(tmp_path):
    config = build_init_config(["tagger"], shared=True)
    del config["components"]["tok2vec"]
    config["nlp"]["pipeline"] = ["tagger"]
    config["components"]["tagger"]["model"]["tok2vec"]["width"] = 96  # it named the tok2vec's width
    path = tmp_path / "lonely.cfg"
    path.write_text(config.to_str())
    return path


# ---------------------------------------------------------------- what train would refuse


def test_a_valid_config_passes_and_prints_its_provenance(capsys):
    assert main(["debug", "config", str(TRF), *trf_args()]) == 0
    out = capsys.readouterr().out
    assert "window = 128    # written" in out


def test_listener_with_no_upstream(tmp_path, capsys):
    path = without_tok2vec(tmp_path)
    code, err = cli(capsys, "debug", "config", path)
    assert code == 1
    assert "[components.tagger.model.tok2vec] The tok2vec listener in 'tagger'" in err and "not connected" in err
    code, err = cli(capsys, "train", path, *missing_corpus(tmp_path))
    assert code == 1 and "not connected" in err and "no-such-corpus" not in err  # refused before reading data


def test_a_reference_to_a_removed_component_names_the_setting(tmp_path, capsys):
    config = build_init_config(["tagger"], shared=True)
    del config["components"]["tok2vec"]
    config["nlp"]["pipeline"] = ["tagger"]
    path = tmp_path / "c.cfg"
    path.write_text(config.to_str())
    code, err = cli(capsys, "debug", "config", path)
    assert code == 1
    assert ("[components.tagger.model.tok2vec] width = ${components.tok2vec.model.encode.width}: "
            "${components.tok2vec.model.encode.width} names no setting") in err


def test_listener_issue_is_structured(tmp_path):
    nlp = workbench.Pipeline.from_config(load_config(without_tok2vec(tmp_path)))
    (issue,) = pipeline_issues(nlp)
    assert (issue.section, issue.key, issue.kind) == ("components.tagger.model.tok2vec", "upstream", "listener")


@pytest.mark.parametrize("window, stride", [(-1, 96), (0, 0), (64, 65)])
def test_bad_window_is_refused_by_debug_config_and_train(tmp_path, capsys, window, stride):
    args = trf_args(**{"components.transformer.model.get_spans.window": window,
                       "components.transformer.model.get_spans.stride": stride})
    code, err = cli(capsys, "debug", "config", TRF, *args)
    assert code == 1 and "[components.transformer" in err and ("window = " in err or "stride = " in err)
    code, err = cli(capsys, "train", TRF, *args, *missing_corpus(tmp_path))
    assert code == 1 and "[components.transformer" in err and "no-such-corpus" not in err


def test_model_folder_that_does_not_exist(tmp_path, capsys):
    gone = tmp_path / "models" / "bert"
    args = trf_args(**{"components.transformer.model.name": str(gone)})
    code, err = cli(capsys, "debug", "config", TRF, *args)
    assert code == 1
    assert f'[components.transformer.model] name = "{gone}": no such folder' in err
    code, err = cli(capsys, "train", TRF, *args, *missing_corpus(tmp_path))
    assert code == 1 and "no such folder" in err and "no-such-corpus" not in err


@pytest.mark.parametrize("layer, words", [
    ("Relu.v1", "cannot pool wordpiece rows (KeyError"),
    ("Softmax.v1", "cannot pool wordpiece rows"),
    ("ragged2list.v1", "gives list for 2 tokens"),
    ("list2ragged.v1", "cannot pool wordpiece rows"),
])
def test_pooling_of_the_wrong_kind(tmp_path, capsys, layer, words):
    args = trf_args(**{"components.tagger.model.tok2vec.pooling": {"@layers": layer}})
    code, err = cli(capsys, "debug", "config", TRF, *args)
    assert code == 1
    assert f'[components.tagger.model.tok2vec.pooling] @layers = "{layer}" {words}' in err
    assert "e.g. @layers = reduce_mean.v1" in err
    overrides = {"components.transformer.model.name": str(tiny_bert_path()),
                 "components.tagger.model.tok2vec.pooling": {"@layers": layer}}
    filled = tmp_path / "filled.cfg"  # complete, so that train gets past its check for missing values
    filled.write_text(fill_config(load_config(TRF, overrides)).to_str())
    code, err = cli(capsys, "train", filled, *missing_corpus(tmp_path))
    assert code == 1 and words in err and "no-such-corpus" not in err


@pytest.mark.parametrize("layer", ["reduce_mean.v1", "reduce_max.v1", "reduce_first.v1", "reduce_last.v1", "reduce_sum.v1"])
def test_poolings_that_pool_pass(capsys, layer):
    assert main(["debug", "config", str(TRF), *trf_args(**{"components.ner.model.tok2vec.pooling": {"@layers": layer}})]) == 0


def test_the_refused_pooling_really_fails_at_the_first_forward_pass():
    """Without the check, the same config fails inside initialize or training (thinc's
    KeyError or ValueError):
    the check reports a real failure, not a rule of its own."""
    config = load_config(TRF, {"components.transformer.model.name": str(tiny_bert_path()),
                               "components.tagger.model.tok2vec.pooling": {"@layers": "Relu.v1"}})
    nlp = workbench.Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    with pytest.raises((KeyError, ValueError), match="has not been allocated|Cannot get dimension 'nO'"):
        nlp.initialize(lambda: iter(examples))
        nlp.update(examples)


def test_initialize_paths_that_do_not_exist(tmp_path, capsys):
    code, err = cli(capsys, "debug", "config", SAMPLE / "configs" / "shared.cfg",
                    "--initialize.vectors", tmp_path / "vecs", "--initialize.init_tok2vec", tmp_path / "model9.bin")
    assert code == 1
    assert f"[initialize] vectors = '{tmp_path / 'vecs'}': no such folder" in err
    assert f"[initialize] init_tok2vec = '{tmp_path / 'model9.bin'}': no such file" in err


def test_block_under_a_listener_through_debug_config_and_train(tmp_path, capsys):
    text = (build_init_config(["tagger"], shared=True).to_str() +
            '\n[components.tagger.model.tok2vec.embed]\n@architectures = "workbench.MultiHashEmbed.v1"\nwidth = 64\n')
    path = tmp_path / "under.cfg"
    path.write_text(text)
    for command in (["debug", "config", path], ["train", path, *missing_corpus(tmp_path)]):
        code, err = cli(capsys, *command)
        assert code == 1
        assert "[components.tagger.model.tok2vec.embed] is written under a listener" in err
        assert "put the block under that component (e.g. [components.tok2vec.model.embed])" in err
        assert "make 'tagger' independent" in err


def test_block_under_a_transformer_listener_names_the_transformer(capsys):
    args = trf_args(**{"components.tagger.model.tok2vec.get_spans": {"@span_getters": "workbench.doc_spans.v1"}})
    code, err = cli(capsys, "debug", "config", TRF, *args)
    assert code == 1 and "[components.transformer.model.get_spans]" in err


# ---------------------------------------------------------------- files that are not configs


@pytest.mark.parametrize("content, words", [
    (b"", "is empty: write a config into it"),
    (b"  \n# just a comment\n\n", "is empty: write a config into it"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not a config"),
    ('[nlp]\nlang = "en"\n# caf\u00e9\n'.encode("latin-1"), "is not UTF-8 text (byte 0xe9 on line 3): save it as UTF-8"),
])
def test_a_file_that_is_not_a_config_gets_one_sentence(tmp_path, capsys, content, words):
    path = tmp_path / "c.cfg"
    path.write_bytes(content)
    for command in ("debug", "train"):
        code, err = cli(capsys, *([command, "config", path] if command == "debug" else [command, path]))
        assert code == 1
        assert err.strip() == err.strip().splitlines()[0]  # one line
        assert err.startswith(f"Error: {path} ") and words in err


def test_circular_interpolation_is_one_sentence(tmp_path, capsys):
    path = tmp_path / "c.cfg"
    path.write_text(build_init_config(["tagger"]).to_str().replace("train = null", "train = ${paths.dev}")
                    .replace("dev = null", "dev = ${paths.train}"))
    code, err = cli(capsys, "debug", "config", path)
    assert code == 1
    assert "paths.train -> paths.dev -> paths.train go round in a circle; set one of them to a value" in err
    with pytest.raises(ConfigError) as info:
        workbench.Pipeline.from_config(load_config(path))
    assert [(i.section, i.key, i.kind) for i in info.value.issues] == [("paths", "train", "reference")]


def test_syntax_error_gives_the_line_of_the_users_file(tmp_path, capsys):
    # no [components] header: the parser adds parent sections, which must not shift the line
    lines = ['[components.tagger]', 'factory = "tagger"', '', '[components.tagger.model]',
             '@architectures = "workbench.Tagger.v1"', 'this line has no equals sign']
    path = tmp_path / "c.cfg"
    path.write_text("\n".join(lines) + "\n")
    code, err = cli(capsys, "debug", "config", path)
    assert code == 1
    assert f"Could not parse config {path}: line 6 is not `key = value` or `[section]`: " \
           "'this line has no equals sign'" in err
    assert "line  8" not in err and "<string>" not in err
