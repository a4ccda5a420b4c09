"""The text data model: strings, vocab, Doc/Token/Span, BILUO helpers and the tokenizer."""
from .attrs import ATTR_IDS, ATTR_NAMES, LOWER, NORM, ORTH, PREFIX, SHAPE, SUFFIX, attr_id
from .biluo import biluo_to_iob, biluo_to_spans, iob_to_biluo, spans_to_biluo, spans_to_iob
from .doc import Doc, Span, Token, Underscore
from .strings import StringStore, hash_string
from .tokenizer import Tokenizer, create_english_tokenizer
from .vocab import Lexeme, Vocab, word_shape

__all__ = [
    "ATTR_IDS", "ATTR_NAMES", "ORTH", "LOWER", "NORM", "PREFIX", "SUFFIX", "SHAPE", "attr_id",
    "iob_to_biluo", "biluo_to_iob", "biluo_to_spans", "spans_to_biluo", "spans_to_iob",
    "Doc", "Token", "Span", "Underscore", "Tokenizer", "create_english_tokenizer",
    "StringStore", "Lexeme", "Vocab", "hash_string", "word_shape",
]
