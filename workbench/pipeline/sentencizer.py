"""The sentencizer component: rule-based sentence starts from final punctuation."""
from typing import Any, List, Sequence

from ..text.doc import Doc

DEFAULT_PUNCT = (".", "!", "?", "...", "…", "?!", "!?", "。")


class SentencizerComponent:
    """Starts a sentence at the first token and after each run of sentence-final
    punctuation (closing quotes and brackets stay with the sentence they end).
    Leaves docs that already have sentence starts alone unless `overwrite`."""

    def __init__(self, name: str = "sentencizer", punct_chars: Sequence[str] = DEFAULT_PUNCT, overwrite: bool = False):
        self.name = name
        self.punct = set(punct_chars)
        self.overwrite = overwrite

    def __call__(self, doc: Doc) -> Doc:
        return self.process([doc])[0]

    def process(self, docs: List[Doc]) -> List[Doc]:
        for doc in docs:
            if len(doc) and (self.overwrite or not doc.has_sents):
                doc.sent_starts = self.starts(doc.words, doc.spaces)
        return docs

    def starts(self, words: List[str], spaces: List[bool]) -> List[bool]:
        closing = {'"', "'", ")", "]", "}", "”", "’", "»"}
        out = [False] * len(words)
        out[0] = True
        seen_end = False
        for i, word in enumerate(words):
            attached_closer = word in closing and i > 0 and not spaces[i - 1]  # `."` ends; `. "` opens
            if seen_end and word not in self.punct and not attached_closer:
                out[i] = True
                seen_end = False
            if word in self.punct or (len(word) > 1 and word[-1] in ".!?" and all(c in ".!?" for c in word)):
                seen_end = True
        return out


def make_sentencizer(nlp: Any, name: str, punct_chars: List[str] = list(DEFAULT_PUNCT), overwrite: bool = False) -> SentencizerComponent:
    return SentencizerComponent(name, punct_chars, overwrite)
