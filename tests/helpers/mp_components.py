"""A registered test component for the multiprocessing tests: it sets extension values on
docs, tokens and spans, and fails on any text containing the word "BOOM".

It lives in an importable module, so worker processes can rebuild it from the config."""
from workbench.registry import register_factory
from workbench.text.doc import Doc, Span, Token

for cls, name in ((Doc, "mp_n_chars"), (Token, "is_long"), (Span, "first_word")):
    if not cls.has_extension(name):
        cls.set_extension(name, default=None)


class MarkerComponent:
    def __init__(self, name: str):
        self.name = name

    def process(self, docs):
        for doc in docs:
            if "BOOM" in doc.words:
                raise ValueError("this text says BOOM")
            doc._.mp_n_chars = len(doc.text)
            for token in doc:
                if len(token.text) > 6:
                    token._.is_long = True
            if len(doc) > 1:
                doc[0:2]._.first_word = {"word": doc.words[0], "pair": (doc.words[0], doc.words[1])}
        return docs


def make_marker(nlp, name: str) -> MarkerComponent:
    return MarkerComponent(name)


register_factory("test_marker", make_marker)
