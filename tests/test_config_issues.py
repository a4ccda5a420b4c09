"""ConfigError.issues: each problem as (section, key, message, kind), from structured sources."""
from pathlib import Path

import pytest

from workbench.config import fill_config, interpolate, parse_config, resolve_block
from workbench.errors import ConfigError, ConfigIssue

ROOT = Path(__file__).resolve().parents[1]
BASE = (ROOT / "sample_data" / "configs" / "shared.cfg").read_text(encoding="utf8")
ENCODE = "components.tok2vec.model.encode"


def fill_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fill_config(parse_config(text))
    return info.value


def test_wrong_type_names_full_section_key_and_expected_type():
    e = fill_error(BASE.replace("width = 96\ndepth = 4", 'width = "abc"\ndepth = 4'))
    assert e.issues == [ConfigIssue(ENCODE, "width", 'wrong type: "abc" should be a whole number', "type")]
    # the message itself is unchanged: confection's location and words
    assert "[tok2vec.model.encode -> width]" in str(e) and "Config error for 'workbench.MaxoutWindowEncoder.v1'" in str(e)


def test_unknown_and_missing_arguments():
    e = fill_error(BASE.replace("maxout_pieces = 3\n", "maxout_pieces = 3\nbogus = 1\n", 1))
    assert [(i.section, i.key, i.kind) for i in e.issues] == [(ENCODE, "bogus", "unknown")]
    # a block that no default fills in (every component block has its factory's defaults)
    text = BASE + '\n[corpora.extra]\n@readers = "workbench.JsonlCorpus.v1"\nlimit = 0\n'
    (issue,) = fill_error(text).issues
    assert (issue.section, issue.key, issue.kind) == ("corpora.extra", "path", "missing")
    assert "has no default, so it must be written" in issue.message


def test_corpus_and_factory_sections_are_found():
    e = fill_error(BASE.replace("limit = 0", 'limit = "lots"', 1))
    assert [(i.section, i.key, i.kind) for i in e.issues] == [("corpora.train", "limit", "type")]
    e = fill_error(BASE.replace('attr = "pos"', "attr = 3"))
    assert e.issues == [ConfigIssue("components.tagger", "attr", "wrong type: 3 should be a string", "type")]


def test_syntax_errors_give_the_users_own_line():
    text = BASE.replace('attr = "pos"', 'attr "pos"')
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    (issue,) = info.value.issues
    assert issue.kind == "syntax" and text.splitlines()[issue.line - 1] == 'attr "pos"'
    assert issue.section == "components.tagger"
    assert "Could not parse config <string>" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.replace("[components.tagger]\n", "[components.tagger\n"))
    (issue,) = info.value.issues
    assert issue.kind == "syntax" and "set twice" in issue.message and issue.line is not None


def test_a_reference_to_nothing():
    text = BASE.replace("${components.tok2vec.model.encode.width}", "${components.tok2vec.model.encode.widthh}")
    with pytest.raises(ConfigError) as info:
        interpolate(fill_config(parse_config(text)))
    issues = info.value.issues  # both listeners read it
    assert [(i.section, i.key, i.kind) for i in issues] == [("components.tagger.model.tok2vec", "width", "reference"),
                                                            ("components.ner.model.tok2vec", "width", "reference")]
    issue = issues[0]
    assert "${components.tok2vec.model.encode.widthh} names no setting" in issue.message


def test_a_block_resolved_alone_names_its_section():
    block = {"@architectures": "workbench.MaxoutWindowEncoder.v1", "width": "wide", "depth": 1,
             "window_size": 1, "maxout_pieces": 3}
    with pytest.raises(ConfigError) as info:
        resolve_block(block, ENCODE)
    assert [(i.section, i.key, i.kind) for i in info.value.issues] == [(ENCODE, "width", "type")]
    assert str(info.value).startswith(f"[{ENCODE}]")


def test_errors_without_structure_have_no_issues_and_checks_can_append():
    e = ConfigError("plain")
    assert e.issues == [] and str(e) == "plain"
    e.issues.append(ConfigIssue("training", "dropout", "must be in [0, 1)", "value"))
    assert e.issues[0].where == "[training] dropout"
