"""Registered test components for the multiprocessing tests: `test_marker` sets extension
values on docs, tokens and spans, and fails on any text containing the word "BOOM";
`test_thread_probe` records the process's thread pool sizes on each doc.

It lives in an importable module, so worker processes can rebuild it from the config."""
from workbench.registry import register_factory
from workbench.text.doc import Doc, Span, Token

for cls, name in ((Doc, "mp_n_chars"), (Token, "is_long"), (Span, "first_word"), (Doc, "mp_pools")):
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


class ThreadProbe:
    """Sets doc._.mp_pools = {"torch": ..., "blas": ..., "pid": ...} in the process that annotates."""

    def __init__(self, name: str):
        self.name = name

    def process(self, docs):
        import os

        from workbench.threads import pool_sizes

        sizes = pool_sizes()
        for doc in docs:
            doc._.mp_pools = {"torch": sizes["torch"], "blas": sizes.get("blas"), "pid": os.getpid()}
        return docs


register_factory("test_thread_probe", lambda nlp, name: ThreadProbe(name))
