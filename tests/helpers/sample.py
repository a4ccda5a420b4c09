"""The sample pipeline (tagger + ner over a shared tok2vec, sample_data/configs/shared.cfg)."""
import json
from pathlib import Path

from . import ROOT

SAMPLE = ROOT / "sample_data"
# overrides (for sample_config) that make a run of the sample pipeline take seconds
TINY = dict(training__max_steps=4, training__eval_frequency=2, training__max_epochs=0,
            corpora__train__limit=60, corpora__dev__limit=20,
            components__tok2vec__model__embed__width=32, components__tok2vec__model__encode__width=32,
            components__tok2vec__model__encode__depth=1)
DATA = {"paths.train": str(SAMPLE / "train.jsonl"), "paths.dev": str(SAMPLE / "dev.jsonl")}


def sample_config(**overrides):
    """shared.cfg with the sample data paths and dotted `overrides` (use __ for dots)."""
    from workbench.config import load_config

    return load_config(SAMPLE / "configs" / "shared.cfg", {**DATA, **{k.replace("__", "."): v for k, v in overrides.items()}})


def trained_sample_pipeline(steps: int = 30):
    """The sample pipeline after `steps` updates (seconds), not saved."""
    from workbench.training.loop import train

    config = sample_config(training__max_steps=steps, training__eval_frequency=steps, training__max_epochs=0)
    return train(config, None).nlp


def save_sample_model(path: Path, steps: int = 30) -> Path:
    trained_sample_pipeline(steps).to_disk(path)
    return Path(path)


def raw_texts(n: int):
    """The first `n` texts of sample_data/raw_text.jsonl."""
    lines = (SAMPLE / "raw_text.jsonl").read_text(encoding="utf8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]
