"""Small configs, texts and vectors shared by the pretraining and init_tok2vec tests."""
import json
from pathlib import Path
from typing import Optional

import numpy
from confection import Config

from workbench.config import parse_config

TEXTS = [
    "The cat sat on the mat and looked at the dog in the garden.",
    "Alice works for Acme in Paris, and Bob visited London last week.",
    "A dog barked loudly while the children played outside the house.",
    "Carol Smith joined Globex Corp in Berlin after years of working abroad.",
    "They may just pull out of the Seattle market completely, at least for now.",
    "Can I ask where you work now and what you do, and if you enjoy it?",
]


def write_texts(path: Path, texts=TEXTS) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf8")
    return path


def write_vectors(root: Path, width: int = 8) -> Path:
    """A vectors pipeline folder (via the Python API of `init vectors`) for the words of TEXTS."""
    from workbench.vectors.formats import init_vectors

    words = sorted({w.strip(".,?").lower() for t in TEXTS for w in t.split()} - {""})
    rng = numpy.random.default_rng(0)
    vec = root / "tiny.vec"
    vec.write_text(f"{len(words)} {width}\n" + "".join(
        w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=width)) + "\n" for w in words))
    init_vectors("en", vec, root / "vectors", progress=False)
    return root / "vectors"


def tok2vec_block(prefix: str, width: int = 32, depth: int = 2, static: bool = False,
                  rows=(500, 200, 200, 200)) -> Config:
    return f"""
[{prefix}]
@architectures = "workbench.Tok2Vec.v1"

[{prefix}.embed]
@architectures = "workbench.MultiHashEmbed.v1"
width = {width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = {list(rows)}
include_static_vectors = {str(static).lower()}

[{prefix}.encode]
@architectures = "workbench.MaxoutWindowEncoder.v1"
width = {width}
depth = {depth}
window_size = 1
maxout_pieces = 2
"""


def shared_config(name: str = "tok2vec", width: int = 32, depth: int = 2, static: bool = False,
                  pretraining: Optional[str] = None, extra: str = "", rows=(500, 200, 200, 200)) -> Config:
    """tok2vec component called `name` + a tagger listening to it, tiny sizes."""
    text = f"""
[nlp]
lang = "en"
pipeline = ["{name}", "tagger"]

[components.{name}]
factory = "tok2vec"
{tok2vec_block(f"components.{name}.model", width, depth, static, rows)}
[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "workbench.Tagger.v1"
nO = null

[components.tagger.model.tok2vec]
@architectures = "workbench.Tok2VecListener.v1"
width = {width}
upstream = "*"

[training]
max_steps = 2
eval_frequency = 2

[training.batcher]
@batchers = "workbench.batch_by_words.v1"
size = 40
{pretraining or ""}
{extra}
"""
    return parse_config(text)


def pretraining_block(objective: str = "characters", max_epochs: int = 2, component: Optional[str] = None,
                      layer: Optional[str] = None, loss: str = "cosine") -> str:
    lines = ["[pretraining]", f"max_epochs = {max_epochs}", "dropout = 0.0"]
    if component is not None:
        lines.append(f'component = "{component}"')
    if layer is not None:
        lines.append(f'layer = "{layer}"')
    lines += ["", "[pretraining.batcher]", '@batchers = "workbench.batch_by_words.v1"', "size = 40", "",
              "[pretraining.objective]"]
    if objective == "characters":
        lines += ['@architectures = "workbench.PretrainCharacters.v1"', "hidden_size = 32", "maxout_pieces = 2",
                  "n_characters = 3"]
    else:
        lines += ['@architectures = "workbench.PretrainVectors.v1"', "hidden_size = 32", "maxout_pieces = 2",
                  f'loss = "{loss}"']
    lines += ["", "[pretraining.optimizer]", '@optimizers = "Adam.v1"', "learn_rate = 0.005", ""]
    return "\n".join(lines)
