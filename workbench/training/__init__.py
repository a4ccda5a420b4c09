"""Training data: Examples, corpus readers, conversion and data checks."""
from .convert import convert, format_summary
from .debug_data import Report, debug_data
from .example import Example
from .readers import (
    Corpus, JsonlCorpus, Problem, corpus_files, detect_format, read_conllu, read_docs,
    read_iob, read_jsonl_docs, read_texts,
)

__all__ = [
    "Corpus", "Example", "JsonlCorpus", "Problem", "Report", "convert", "corpus_files",
    "debug_data", "detect_format", "format_summary", "read_conllu", "read_docs", "read_iob",
    "read_jsonl_docs", "read_texts",
]
