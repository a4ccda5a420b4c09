"""ConfigEditor and its converters: values, observers, validation messages beside keys."""
import re
from pathlib import Path

import ipywidgets as W
import pytest

import workbench
from widgets.config_editor import ConfigEditor
from widgets.converters.config_check import ERROR, MISSING, check_config, check_text
from widgets.converters.config_tree import (
    config_diff,
    config_rows,
    function_args,
    registered_names,
    text_to_value,
    value_to_text,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "sample_data" / "configs" / "shared.cfg"
BASE = SHARED.read_text(encoding="utf8")
ENCODE = "components.tok2vec.model.encode"


def errors(issues):
    return [(i.section, i.key) for i in issues if i.level == ERROR]


# ------------------------------------------------------------------ converters


def test_sample_config_has_no_issues():
    config, issues = check_text(BASE)
    assert config is not None
    assert issues == []


@pytest.mark.parametrize("text, where, words", [
    (BASE.replace("width = 96\ndepth = 4", 'width = "abc"\ndepth = 4'), (ENCODE, "width"), "wrong type"),
    (BASE.replace("maxout_pieces = 3\n", "maxout_pieces = 3\nbogus = 1\n", 1), (ENCODE, "bogus"), "unknown setting"),
    (BASE.replace('"workbench.MaxoutWindowEncoder.v1"', '"workbench.MaxoutWindowEncoderr.v1"'), (ENCODE, "@architectures"),
     "Did you mean: 'workbench.MaxoutWindowEncoder.v1'"),
    (BASE.replace('factory = "tagger"', 'factory = "taggr"'), ("components.tagger", "factory"), "Did you mean: 'tagger'"),
    (BASE.replace("limit = 0", 'limit = "lots"', 1), ("corpora.train", "limit"), "should be a whole number"),
    (BASE.replace('attr = "pos"', "attr = 3"), ("components.tagger", "attr"), "should be a string"),
    (BASE.replace("dropout = 0.1", 'dropout = "x"'), ("training", "dropout"), "should be a number"),
    (BASE.replace("${components.tok2vec.model.encode.width}", "${components.tok2vec.model.encode.widthh}"),
     ("components.tagger.model.tok2vec", "width"), "names no setting"),
    (BASE.replace('pipeline = ["tok2vec", "tagger", "ner"]', 'pipeline = ["tok2vec", "tagger", "ner", "parser"]'),
     ("nlp", "pipeline"), "no [components.parser] section"),
    (BASE.replace('@optimizers = "Adam.v1"', '@optimizerz = "Adam.v1"'), ("training.optimizer", "@optimizerz"),
     "Unknown registry"),
])
def test_problems_are_mapped_to_their_key(text, where, words):
    _, issues = check_text(text)
    found = [i for i in issues if (i.section, i.key) == where and i.level == ERROR]
    assert found, issues
    assert words in found[0].message
    assert found[0].line is not None and where[1].lstrip("@") in text.splitlines()[found[0].line - 1] or where[1] == "pipeline"


def test_several_problems_are_reported_in_one_pass():
    text = (BASE.replace("limit = 0", 'limit = "lots"', 1).replace("width = 96\ndepth = 4", 'width = "abc"\ndepth = 4')
            .replace("dropout = 0.1", 'dropout = "x"'))
    _, issues = check_text(text)
    assert set(errors(issues)) == {("training", "dropout"), (ENCODE, "width"), ("corpora.train", "limit")}


def test_a_required_value_that_is_missing():
    # The tagger's own Tok2Vec (independent layout) replaces the factory's listener whole,
    # so nothing fills its encode block in: it must be written.
    text = (ROOT / "sample_data" / "configs" / "independent.cfg").read_text(encoding="utf8")
    text = re.sub(r"\[components\.tagger\.model\.tok2vec\.encode\]\n(.+\n)+?\n", "", text)
    _, issues = check_text(text)
    assert errors(issues) == [("components.tagger.model.tok2vec", "encode")]
    assert "has no default, so it must be written" in issues[0].message
    ed = ConfigEditor(text)
    assert "encode: missing value" in ed._section_boxes["components.tagger.model.tok2vec"].missing.value


def test_parse_errors_name_the_line():
    text = BASE.replace('attr = "pos"', 'attr "pos"')
    config, issues = check_text(text)
    assert config is None
    (issue,) = issues
    assert text.splitlines()[issue.line - 1] == 'attr "pos"'
    assert issue.section == "components.tagger"
    broken_header = BASE.replace("[components.tagger]\n", "[components.tagger\n")
    _, issues = check_text(broken_header)
    assert "set twice" in issues[0].message and "header" in issues[0].message


def test_missing_values_are_listed_with_defaults():
    config, issues = check_text('[nlp]\npipeline = ["tagger"]\n[components.tagger]\nfactory = "tagger"\n')
    assert issues == check_config(config)
    assert not errors(issues)
    missing = {(i.section, i.key): i.message for i in issues if i.level == MISSING}
    assert "default \"tag\"" in missing[("components.tagger", "attr")]
    assert ("training", "dropout") in missing


def test_values_round_trip_through_text():
    for value in ["pos", 96, 0.5, 1e-08, None, True, [1, 2], ["NORM", "SHAPE"], "${paths.train}"]:
        text = value_to_text(value)
        assert text_to_value(text) == (value, None)
    value, warning = text_to_value("[1, 2")
    assert value == "[1, 2" and "not valid JSON" in warning


def test_rows_registries_and_signatures():
    config, _ = check_text(BASE)
    rows = {(r.section, r.key): r for r in config_rows(config)}
    assert rows[(ENCODE, "@architectures")].registry == "architectures"
    assert rows[("components.tagger", "factory")].registry == "factories"
    assert rows[("training", "dropout")].text == "0.1"
    assert "workbench.Tok2Vec.v1" in registered_names("architectures")
    args = {a.name: a for a in function_args("architectures", "workbench.MaxoutWindowEncoder.v1")}
    assert args["width"].type == "int" and args["width"].default == "96"
    factory_args = {a.name for a in function_args("factories", "tagger")}
    assert "model" in factory_args and "nlp" not in factory_args
    assert config_diff("a\n", "a\n") == ""
    assert "+b" in config_diff("a\n", "a\nb\n")


# ------------------------------------------------------------------ the widget


def test_editor_shows_tree_and_validates_live():
    ed = ConfigEditor(SHARED)
    assert ed.path == SHARED
    assert ed.errors == []
    assert isinstance(ed.field("training", "dropout"), W.Text)
    assert isinstance(ed.field(ENCODE, "@architectures"), W.Dropdown)
    titles = [ed.tree.get_title(i) for i in range(len(ed.tree.children))]
    assert "[components]" in titles and "[training]" in titles

    ed.field(ENCODE, "width").value = '"abc"'  # what typing does: the observer checks
    assert "wrong type" in ed.message(ENCODE, "width")
    assert "wrong type" in ed.fields[(ENCODE, "width")].message.value
    assert "1 problem" in ed.status.value
    ed.set_value(ENCODE, "width", "128")
    assert ed.errors == []
    assert ed.config["components"]["tok2vec"]["model"]["encode"]["width"] == 128
    assert ed.fields[(ENCODE, "width")].message.value == ""
    assert "+width = 128" in ed.diff() and "-width = 96" in ed.diff()


def test_registry_dropdown_shows_function_arguments():
    ed = ConfigEditor(SHARED)
    dropdown = ed.field("components.tok2vec.model", "@architectures")
    assert "workbench.HashEmbedCNN.v1" in dropdown.options
    assert "embed" in ed._args_boxes["components.tok2vec.model"].value
    dropdown.value = "workbench.HashEmbedCNN.v1"
    args = ed._args_boxes["components.tok2vec.model"].value
    assert "embed_size" in args and "subword_features" in args
    assert ed.errors  # HashEmbedCNN takes no embed/encode sections
    ed.set_value(ENCODE, "@architectures", '"no.such.v1"')
    assert "not registered" in ed.message(ENCODE, "@architectures")
    assert "no.such.v1" in ed.field(ENCODE, "@architectures").options


def test_text_mode_and_parse_errors():
    ed = ConfigEditor(BASE)
    ed.mode.value = "text"
    assert ed.body.children[0] is ed.raw
    assert ed.raw.value.startswith("[paths]")
    ed.raw.value = ed.raw.value.replace('attr = "pos"', 'attr "pos"')
    assert ed.errors and "line" in ed.raw_messages.value
    ed.raw.value = ed.raw.value.replace('attr "pos"', 'attr = "tag"')
    assert ed.errors == []
    ed.mode.value = "tree"
    assert ed.field("components.tagger", "attr").value == '"tag"'


def test_fill_defaults_diff_and_save(tmp_path):
    path = tmp_path / "small.cfg"
    path.write_text('[nlp]\npipeline = ["tagger"]\n\n[components.tagger]\nfactory = "tagger"\n', encoding="utf8")
    ed = ConfigEditor(path)
    assert "not written" in ed.status.value
    ed.fill_button.click()
    assert "complete" in ed.status.value
    assert ("training", "dropout") in ed.fields
    diff = ed.show_diff()
    assert "+dropout = 0.1" in diff and "dropout" in ed.diff_view.value
    ed.save_path.value = str(tmp_path / "out.cfg")
    ed.save_button.click()
    assert (tmp_path / "out.cfg").exists() and "Saved" in ed.status.value
    assert ed.diff() == ""  # the saved file is now the one compared with
    assert workbench.Pipeline.from_config(workbench.Config().from_disk(tmp_path / "out.cfg", interpolate=False)).pipe_names == ["tagger"]


def test_editor_opens_a_live_pipeline():
    nlp = workbench.Pipeline.from_config(workbench.Config().from_str(BASE, interpolate=False))
    ed = ConfigEditor(nlp)
    assert ed.path is None
    assert ed.errors == []
    assert ed.field("nlp", "pipeline").value == '["tok2vec", "tagger", "ner"]'
    assert not ed.fill_defaults() or "complete" in ed.status.value


# ------------------------------------------------------------------ slots, issues, save, train


def test_dropdowns_offer_only_names_that_fit_the_slot():
    ed = ConfigEditor(SHARED)
    embed = ed.field("components.tok2vec.model.embed", "@architectures").options
    assert "workbench.MultiHashEmbed.v1" in embed
    assert not any("Listener" in n or n.endswith("Tok2Vec.v1") or "Encoder" in n for n in embed)
    assert ed.field(ENCODE, "@architectures").options == ("workbench.MaxoutWindowEncoder.v1",)
    listener_slot = ed.field("components.tagger.model.tok2vec", "@architectures").options
    assert "workbench.Tok2VecListener.v1" in listener_slot and "workbench.MultiHashEmbed.v1" not in listener_slot
    assert "workbench.Tagger.v1" in ed.field("components.tagger.model", "@architectures").options
    assert not any(n.startswith("spacy.") for n in embed)  # aliases are not offered


def test_engine_issues_show_beside_their_key_with_their_kind():
    ed = ConfigEditor(SHARED)
    ed.field(ENCODE, "width").value = '"wide"'
    (issue,) = ed.errors
    assert (issue.section, issue.key, issue.kind) == (ENCODE, "width", "type")
    assert "should be a whole number" in ed.message(ENCODE, "width") and "(type)" in ed.fields[(ENCODE, "width")].message.value
    ed.set_value(ENCODE, "width", "96")
    ed.field("components.tagger", "attr").value = "3"
    assert [i.kind for i in ed.errors] == ["type"]


def test_save_never_defaults_to_a_sample_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ed = ConfigEditor(SHARED)
    assert ed.save_path.value == str(tmp_path / "shared_edited.cfg")
    ed.save_button.click()
    assert (tmp_path / "shared_edited.cfg").exists() and SHARED.read_text(encoding="utf8") == BASE
    with pytest.raises(FileExistsError, match="shipped sample configs"):
        ed.save(SHARED)
    ed.save_path.value = str(SHARED)
    ed.save_button.click()
    assert "shipped sample configs" in ed.status.value and SHARED.read_text(encoding="utf8") == BASE


def test_train_this_config_opens_the_dashboard(tmp_path):
    data = {"paths.train": str(ROOT / "sample_data" / "train.jsonl"), "paths.dev": str(ROOT / "sample_data" / "dev.jsonl")}
    text = BASE
    ed = ConfigEditor(text)
    for dotted, value in {**data, "training.max_steps": 2, "training.eval_frequency": 2, "training.max_epochs": 0}.items():
        section, key = dotted.rsplit(".", 1)
        ed.set_value(section, key, f'"{value}"' if isinstance(value, str) else str(value))
    ed.runs_path.value = str(tmp_path / "runs")
    ed.train_button.click()
    dash = ed.dashboard
    assert dash is not None and dash in ed.train_box.children and dash.max_steps == 2
    dash.start()
    dash.wait(timeout=300)
    assert dash.state == "done" and dash.run_path == tmp_path / "runs" / "run-001"
    ed.field(ENCODE, "width").value = '"wide"'
    ed.train_button.click()
    assert "Cannot train" in ed.status.value and "problem" in ed.status.value
