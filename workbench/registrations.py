"""THE one place where every built-in function is registered.

Each name is registered once under the workbench's own name and, where the
specification's configs use one, under the spaCy-style alias as well.
"""
from pathlib import Path
from typing import Callable, Optional, Union

from .corpora.corpus import Corpus, JsonlCorpus
from .models.char_embed import CharacterEmbed
from .models.embed import MultiHashEmbed, MultiHashEmbedV1
from .models.encode import MaxoutWindowEncoder
from .models.parser import TransitionBasedParser, TransitionBasedParserV2
from .models.pretrain import PretrainCharacters, PretrainVectors
from .models.static_vectors import StaticVectors
from .models.tagger import Tagger
from .models.textcat import TextCatBOW, TextCatEnsemble, TextCatReduce
from .models.tok2vec import HashEmbedCNN, Tok2Vec
from .models.tok2vec_listener import Tok2VecListener
from .models.transformer.annotation_setters import configure_null_annotation_setter, configure_trf_data_setter
from .models.transformer.listener import TransformerListener
from .models.transformer.model import TransformerModel
from .models.transformer.span_getters import doc_spans, sent_spans, strided_spans
from .pipeline.ner import DEFAULT_NER, NERComponent, make_ner
from .pipeline.parser import DEFAULT_PARSER, make_parser
from .pipeline.sentencizer import make_sentencizer
from .pipeline.tagger import DEFAULT_TAGGER, TaggerComponent, make_tagger
from .pipeline.textcat import (
    DEFAULT_TEXTCAT,
    DEFAULT_TEXTCAT_MULTILABEL,
    TextCatComponent,
    make_textcat,
    make_textcat_multilabel,
)
from .pipeline.tok2vec import DEFAULT_TOK2VEC, make_tok2vec
from .pipeline.transformer import DEFAULT_TRANSFORMER, make_transformer
from .registry import register_factory, registry
from .settings import NonNegativeInt, PositiveInt
from .training.batchers import batch_by_words
from .training.logger import console_logger
from .training.schedules import warmup_decay_to_end
from .vectors.formats import read_vectors


def _register(reg, names, func: Callable) -> None:
    for name in names:
        reg.register(name, func=func)


# ---------------------------------------------------------------- architectures
_register(registry.architectures, ["workbench.MultiHashEmbed.v1", "spacy.MultiHashEmbed.v2"], MultiHashEmbed)
_register(registry.architectures, ["spacy.MultiHashEmbed.v1"], MultiHashEmbedV1)
_register(registry.architectures, ["workbench.CharacterEmbed.v1", "spacy.CharacterEmbed.v2"], CharacterEmbed)
_register(registry.architectures, ["workbench.MaxoutWindowEncoder.v1", "spacy.MaxoutWindowEncoder.v1", "spacy.MaxoutWindowEncoder.v2"], MaxoutWindowEncoder)
_register(registry.architectures, ["workbench.StaticVectors.v1", "spacy.StaticVectors.v1", "spacy.StaticVectors.v2"], StaticVectors)
_register(registry.architectures, ["workbench.Tok2Vec.v1", "spacy.Tok2Vec.v1", "spacy.Tok2Vec.v2"], Tok2Vec)
_register(registry.architectures, ["workbench.HashEmbedCNN.v1", "spacy.HashEmbedCNN.v1", "spacy.HashEmbedCNN.v2"], HashEmbedCNN)
_register(registry.architectures, ["workbench.Tok2VecListener.v1", "spacy.Tok2VecListener.v1"], Tok2VecListener)
_register(registry.architectures, ["workbench.Tagger.v1", "spacy.Tagger.v1", "spacy.Tagger.v2"], Tagger)
_register(registry.architectures, ["workbench.TransitionBasedParser.v1", "spacy.TransitionBasedParser.v1", "spacy.TransitionBasedParser.v2"], TransitionBasedParser)
_register(registry.architectures, ["workbench.TransitionBasedParser.v2"], TransitionBasedParserV2)
_register(registry.architectures, ["workbench.TextCatBOW.v1", "spacy.TextCatBOW.v3"], TextCatBOW)
_register(registry.architectures, ["workbench.TextCatReduce.v1", "spacy.TextCatReduce.v1"], TextCatReduce)
_register(registry.architectures, ["workbench.TextCatEnsemble.v1", "spacy.TextCatEnsemble.v2"], TextCatEnsemble)
_register(registry.architectures, ["workbench.TransformerModel.v1", "spacy-transformers.TransformerModel.v1", "spacy-transformers.TransformerModel.v3"], TransformerModel)
_register(registry.architectures, ["workbench.TransformerListener.v1", "spacy-transformers.TransformerListener.v1"], TransformerListener)
_register(registry.architectures, ["workbench.PretrainCharacters.v1", "spacy.PretrainCharacters.v1"], PretrainCharacters)
_register(registry.architectures, ["workbench.PretrainVectors.v1", "spacy.PretrainVectors.v1"], PretrainVectors)

# ---------------------------------------------------------------- span getters and annotation setters
_register(registry.span_getters, ["workbench.doc_spans.v1", "spacy-transformers.doc_spans.v1"], doc_spans)
_register(registry.span_getters, ["workbench.sent_spans.v1", "spacy-transformers.sent_spans.v1"], sent_spans)
_register(registry.span_getters, ["workbench.strided_spans.v1", "spacy-transformers.strided_spans.v1"], strided_spans)
_register(registry.annotation_setters, ["workbench.null_annotation_setter.v1", "spacy-transformers.null_annotation_setter.v1"], configure_null_annotation_setter)
_register(registry.annotation_setters, ["workbench.trf_data_setter.v1", "spacy-transformers.trfdata_setter.v1"], configure_trf_data_setter)

# ---------------------------------------------------------------- factories
register_factory("tok2vec", make_tok2vec, DEFAULT_TOK2VEC)
register_factory("tagger", make_tagger, DEFAULT_TAGGER, scores=TaggerComponent.score_weights)
register_factory("ner", make_ner, DEFAULT_NER, scores=NERComponent.score_weights)
register_factory("parser", make_parser, DEFAULT_PARSER, scores=lambda block: {"dep_uas": 0.5, "dep_las": 0.5})
register_factory("textcat", make_textcat, DEFAULT_TEXTCAT, scores=TextCatComponent.score_weights)
register_factory("textcat_multilabel", make_textcat_multilabel, DEFAULT_TEXTCAT_MULTILABEL, scores=TextCatComponent.score_weights)
register_factory("transformer", make_transformer, DEFAULT_TRANSFORMER)
register_factory("sentencizer", make_sentencizer)


# ---------------------------------------------------------------- readers
def create_corpus(
    path: Optional[Union[str, Path]],
    limit: NonNegativeInt = 0,
    max_length: NonNegativeInt = 0,
    shuffle: bool = False,
    n_sents: PositiveInt = 1,
    gold_preproc: bool = False,
    augmenter: Optional[Callable] = None,
) -> Corpus:
    """Gold examples from a CoNLL-U, IOB/BILUO or annotated JSONL file (or a folder)."""
    return Corpus(path, limit=limit, max_length=max_length, shuffle=shuffle, n_sents=n_sents,
                  gold_preproc=gold_preproc, augmenter=augmenter)


def create_jsonl_corpus(
    path: Optional[Union[str, Path]], limit: NonNegativeInt = 0, min_length: NonNegativeInt = 0,
    max_length: NonNegativeInt = 0,
) -> JsonlCorpus:
    """Raw texts, one {"text": ...} per line, tokenized by the pipeline."""
    return JsonlCorpus(path, limit=limit, min_length=min_length, max_length=max_length)


_register(registry.readers, ["workbench.Corpus.v1", "spacy.Corpus.v1"], create_corpus)
_register(registry.readers, ["workbench.JsonlCorpus.v1", "spacy.JsonlCorpus.v1"], create_jsonl_corpus)

# ---------------------------------------------------------------- callbacks and vectors
_register(registry.callbacks, ["workbench.ConsoleLogger.v1", "spacy.ConsoleLogger.v1"], console_logger)
_register(registry.vectors, ["workbench.read_vectors.v1"], read_vectors)

# ---------------------------------------------------------------- batchers
_register(registry.batchers, ["workbench.batch_by_words.v1", "spacy.batch_by_words.v1"], batch_by_words)

# ---------------------------------------------------------------- schedules
_register(registry.schedules, ["workbench.warmup_decay_to_end.v1"], warmup_decay_to_end)
