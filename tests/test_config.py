"""The config system: filling defaults, missing values, unknown names, overrides, --code."""
import subprocess
import sys
import textwrap

import pytest

from workbench.config import (
    fill_config,
    missing_values,
    parse_config,
    parse_override_args,
    require_complete,
)
from workbench.errors import ConfigError
from workbench.registry import registry

SHARED = """
[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v1"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v1"

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v1"

[components.tagger]
factory = "tagger"
"""


def test_fill_adds_signature_and_factory_defaults():
    filled = fill_config(parse_config(SHARED))
    embed = filled["components"]["tok2vec"]["model"]["embed"]
    assert embed["width"] == 96 and embed["rows"] == [5000, 1000, 2500, 2500]
    assert filled["components"]["tok2vec"]["model"]["encode"]["depth"] == 4
    # the tagger's default model (a listener) comes from the factory's default config
    assert filled["components"]["tagger"]["model"]["tok2vec"]["@architectures"] == "workbench.Tok2VecListener.v1"
    assert filled["nlp"]["pipeline"] == ["tok2vec", "tagger"]
    assert filled["training"]["score_weights"] == {"tag_acc": 1.0}


def test_filled_config_is_complete_and_round_trips():
    filled = fill_config(parse_config(SHARED))
    again = parse_config(filled.to_str())
    assert missing_values(again) == []
    require_complete(again)


def test_missing_values_listed_with_sections():
    with pytest.raises(ConfigError) as e:
        require_complete(parse_config(SHARED), "shared.cfg")
    msg = str(e.value)
    assert "shared.cfg has" in msg
    assert "[components.tok2vec.model.embed] width" in msg
    assert "[training] max_steps" in msg
    assert "init fill-config" in msg


def test_written_block_with_other_function_replaces_default():
    cfg = parse_config(SHARED + """
[components.tagger.model]
@architectures = "workbench.Tagger.v1"

[components.tagger.model.tok2vec]
@architectures = "workbench.HashEmbedCNN.v1"
width = 64
""")
    tok2vec = fill_config(cfg)["components"]["tagger"]["model"]["tok2vec"]
    assert tok2vec["@architectures"] == "workbench.HashEmbedCNN.v1"
    assert "upstream" not in tok2vec  # the listener's arguments did not leak in
    assert tok2vec["width"] == 64 and tok2vec["depth"] == 4


def test_unknown_architecture_names_registry_and_close_names():
    cfg = parse_config(SHARED.replace("spacy.MaxoutWindowEncoder.v1", "spacy.MaxoutWindowEncodr.v1"))
    with pytest.raises(ConfigError) as e:
        fill_config(cfg)
    msg = str(e.value)
    assert "[components.tok2vec.model.encode]" in msg
    assert "'architectures' registry" in msg
    assert "spacy.MaxoutWindowEncoder.v1" in msg
    assert "--code" in msg


def test_unknown_factory_and_registry():
    with pytest.raises(ConfigError, match="'tager' is not registered in the 'factories' registry.*'tagger'"):
        fill_config(parse_config('[components.t]\nfactory = "tager"\n'))
    with pytest.raises(ConfigError, match="Unknown registry '@architecture'"):
        fill_config(parse_config('[components.t]\nfactory = "tok2vec"\n[components.t.model]\n@architecture = "x"\n'))


def test_wrong_type_names_key():
    text = SHARED.replace('@architectures = "spacy.MaxoutWindowEncoder.v1"', '@architectures = "spacy.MaxoutWindowEncoder.v1"\ndepth = "deep"')
    with pytest.raises(ConfigError, match="depth"):
        fill_config(parse_config(text))


def test_missing_required_argument_is_named():
    text = '[components.t]\nfactory = "tok2vec"\n\n[components.t.model]\n@architectures = "spacy.Tok2Vec.v1"\n'
    with pytest.raises(ConfigError) as e:
        fill_config(parse_config(text))
    assert "missing required argument: 'embed'" in str(e.value)
    assert "missing required argument: 'encode'" in str(e.value)


def test_old_nlp_pipeline_sections_get_the_new_spelling():
    text = """
[components.ner]
factory = "tagger"

[nlp.pipeline.ner.model]
@architectures = "spacy.TransitionBasedParser.v1"
"""
    with pytest.raises(ConfigError) as e:
        parse_config(text, source="spec.cfg")
    assert "[nlp.pipeline.ner" in str(e.value) and "[components.ner" in str(e.value)
    assert "spec.cfg" in str(e.value)


def test_parse_errors_name_the_source():
    with pytest.raises(ConfigError, match="broken.cfg"):
        parse_config("[training\nx = 1", source="broken.cfg")


def test_override_args_parsed_as_json_or_strings():
    assert parse_override_args(["--training.max_epochs", "5", "--paths.train=x.conllu", "--training.dropout", "0.2"]) == {
        "training.max_epochs": 5, "paths.train": "x.conllu", "training.dropout": 0.2}
    with pytest.raises(ConfigError, match="--section.key"):
        parse_override_args(["max_epochs", "5"])


def test_overrides_applied_and_unknown_section_reported():
    cfg = parse_config(SHARED, {"components.tok2vec.model.embed.width": 64})
    assert cfg["components"]["tok2vec"]["model"]["embed"]["width"] == 64
    with pytest.raises(ConfigError, match=r"section \[trainng\] is not in"):
        parse_config(SHARED, {"trainng.max_epochs": 3})


def test_code_file_registers_before_resolving(tmp_path):
    code = tmp_path / "code.py"
    code.write_text(textwrap.dedent("""
        from typing import List
        from thinc.api import Model
        from workbench.registry import registry
        from workbench.models import HashEmbedCNN

        @registry.architectures("my.Tok2Vec.v1")
        def my_tok2vec(width: int = 32) -> Model:
            return HashEmbedCNN(width=width, depth=1, embed_size=500)
    """))
    cfg = tmp_path / "c.cfg"
    cfg.write_text('[components.tok2vec]\nfactory = "tok2vec"\n[components.tok2vec.model]\n@architectures = "my.Tok2Vec.v1"\n')
    out = tmp_path / "filled.cfg"
    res = subprocess.run([sys.executable, "-m", "workbench", "init", "fill-config", str(cfg), str(out), "--code", str(code)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "width = 32" in out.read_text()
    res = subprocess.run([sys.executable, "-m", "workbench", "init", "fill-config", str(cfg), str(out)], capture_output=True, text=True)
    assert res.returncode == 1
    assert "my.Tok2Vec.v1" in res.stderr and "--code" in res.stderr


def test_spacy_aliases_resolve_to_our_functions():
    assert registry.get("architectures", "spacy.Tok2Vec.v1") is registry.get("architectures", "workbench.Tok2Vec.v1")
    assert registry.get("readers", "spacy.Corpus.v1") is registry.get("readers", "workbench.Corpus.v1")


def test_sample_configs_are_complete():
    from pathlib import Path

    from workbench.config import load_config

    configs = sorted((Path(__file__).resolve().parents[1] / "sample_data" / "configs").glob("*.cfg"))
    assert configs
    for path in configs:
        assert missing_values(load_config(path)) == [], path


def test_registry_lookups_read_each_entry_point_group_once_with_the_same_answers():
    """catalogue scans every installed entry point on each lookup; the workbench looks each
    group up once in the same snapshot (a saved pipeline loads ~2x faster)."""
    import catalogue

    from workbench.registry import EntryPointGroups

    points = catalogue.AVAILABLE_ENTRY_POINTS
    assert isinstance(points, EntryPointGroups)
    for group in ("console_scripts", "thinc_layers", "no.such.group"):
        first = points.select(group=group)
        assert list(first) == list(points.points.select(group=group)) and points.select(group=group) is first
    assert any(ep.name == "pytest" for ep in points.select(group="console_scripts"))
