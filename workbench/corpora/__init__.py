"""Corpora: readers for CoNLL-U, IOB/BILUO and JSONL, format detection, `convert` and `debug data`."""
from .convert import convert, format_convert_report
from .corpus import (
    Corpus,
    JsonlCorpus,
    Problem,
    corpus_files,
    detect_corpus_format,
    read_conllu,
    read_docs,
    read_iob,
    read_jsonl_docs,
    read_texts,
)
from .debug_data import Report, debug_data

__all__ = [
    "Corpus", "JsonlCorpus", "Problem", "Report", "convert", "corpus_files",
    "debug_data", "detect_corpus_format", "format_convert_report", "read_conllu", "read_docs", "read_iob",
    "read_jsonl_docs", "read_texts",
]
