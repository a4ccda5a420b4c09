"""A damaged saved pipeline gets one sentence naming the file: every file of a saved
sample pipeline, a transformer pipeline and a vectors pipeline, damaged four ways."""
import os
import shutil
from pathlib import Path

import pytest

import workbench
from tests.helpers.sample import save_sample_model
from tests.helpers.trf import save_tiny_bert
from workbench.cli import main as cli_main
from workbench.damage import DamagedPipelineError
from workbench.errors import ConfigError, WorkbenchError
from workbench.vectors.formats import init_vectors

SENTENCE = "; the pipeline folder is damaged: re-save or retrain it"
KINDS = ["missing", "empty", "truncated", "garbage"]


def damage(file: Path, kind: str) -> None:
    size = file.stat().st_size
    if kind == "missing":
        file.unlink()
    elif kind == "empty":
        file.write_bytes(b"")
    elif kind == "truncated":
        file.write_bytes(file.read_bytes()[: size // 2])
    else:
        file.write_bytes(os.urandom(max(64, size)))


def trf_pipeline(folder: Path) -> Path:
    from tests.pipeline.test_transformer_pipeline import build, trf_config

    nlp, _ = build(trf_config(save_tiny_bert(folder.parent / "bert"), ner=False))
    nlp.to_disk(folder)
    return folder


def vectors_pipeline(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    vec = folder.parent / "small.vec"
    vec.write_text("3 2\na 1 2\nb 3 4\nc 5 6\n", encoding="utf8")
    init_vectors("en", vec, folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    return {
        "sample": save_sample_model(root / "sample" / "p", steps=2),
        "transformer": trf_pipeline(root / "trf" / "p"),
        "vectors": vectors_pipeline(root / "vec" / "p"),
    }


def files_of(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


EXPECTED = {  # what each kind of pipeline folder holds: the parametrization covers all of it
    "sample": ["config.cfg", "meta.json", "ner/cfg.json", "ner/model.msgpack", "tagger/cfg.json",
               "tagger/model.msgpack", "tok2vec/cfg.json", "tok2vec/model.msgpack", "tokenizer/tokenizer.json",
               "vocab/strings.json"],
    "transformer": ["config.cfg", "meta.json", "tagger/cfg.json", "tagger/model.msgpack", "tokenizer/tokenizer.json",
                    "transformer/cfg.json", "transformer/model/config.json", "transformer/model/model.safetensors",
                    "transformer/model/tokenizer.json", "transformer/model/tokenizer_config.json",
                    "vocab/strings.json"],
    "vectors": ["config.cfg", "meta.json", "tokenizer/tokenizer.json", "vocab/strings.json",
                "vocab/vectors/keys.npy", "vocab/vectors/rows.npy", "vocab/vectors/vectors.json",
                "vocab/vectors/vectors.npy"],
}
CASES = [(kind, rel) for kind, files in EXPECTED.items() for rel in files]


def test_the_parametrization_covers_every_saved_file(saved):
    for kind, folder in saved.items():
        assert files_of(folder) == EXPECTED[kind]
        workbench.load(folder)  # intact, each loads


@pytest.mark.parametrize("damage_kind", KINDS)
@pytest.mark.parametrize("pipeline,rel", CASES)
def test_each_damaged_file_gets_one_sentence(saved, tmp_path, pipeline, rel, damage_kind):
    folder = tmp_path / "p"
    shutil.copytree(saved[pipeline], folder)
    damage(folder / rel, damage_kind)
    with pytest.raises(DamagedPipelineError) as err:
        workbench.load(folder)
    message = str(err.value)
    assert message.startswith(f"{folder / rel}: ") and message.endswith(SENTENCE), message
    assert "\n" not in message and message.count(SENTENCE) == 1
    what = message[len(f"{folder / rel}: ") : -len(SENTENCE)]
    if damage_kind in ("missing", "empty"):
        assert what == f"the file is {damage_kind}"
    else:
        assert what and "Traceback" not in what


def test_truncation_anywhere_in_the_config(saved, tmp_path):
    """Cut at every tenth of config.cfg, and just before its end: never loads silently."""
    source = saved["sample"] / "config.cfg"
    data = source.read_bytes()
    for cut in [len(data) * i // 10 for i in range(1, 10)] + [len(data) - 2, len(data) - 4]:
        folder = tmp_path / f"cut{cut}"
        shutil.copytree(saved["sample"], folder)
        (folder / "config.cfg").write_bytes(data[:cut])
        with pytest.raises(DamagedPipelineError, match=r"config.cfg: .*; the pipeline folder is damaged"):
            workbench.load(folder)


def test_the_cli_prints_the_sentence_without_a_traceback(saved, tmp_path, capsys):
    folder = tmp_path / "p"
    shutil.copytree(saved["sample"], folder)
    damage(folder / "tagger" / "model.msgpack", "truncated")
    texts = tmp_path / "in.jsonl"
    texts.write_text('{"text": "A cat sat."}\n', encoding="utf8")
    code = cli_main(["apply", str(folder), str(texts), str(tmp_path / "out.jsonl"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"Error: {folder / 'tagger' / 'model.msgpack'}: ") and err.rstrip().endswith(SENTENCE)


def test_a_folder_that_is_no_pipeline_is_not_called_damaged(tmp_path):
    with pytest.raises(WorkbenchError, match="is not a saved pipeline") as err:
        workbench.load(tmp_path)
    assert not isinstance(err.value, DamagedPipelineError)


def test_a_function_from_user_code_is_not_damage(saved, tmp_path):
    """A saved config naming a function that only --code registers needs that code: the
    error says so, and does not call the folder damaged."""
    folder = tmp_path / "p"
    shutil.copytree(saved["sample"], folder)
    cfg = folder / "config.cfg"
    cfg.write_text(cfg.read_text(encoding="utf8").replace('"workbench.Tagger.v1"', '"my.Tagger.v1"'), encoding="utf8")
    with pytest.raises(ConfigError, match="'my.Tagger.v1' is not registered.*--code") as err:
        workbench.load(folder)
    assert "damaged" not in str(err.value)
