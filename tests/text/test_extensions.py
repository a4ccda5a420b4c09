import pytest

from workbench.errors import ExtensionError
from workbench.text.doc import Doc, Span, Token
from workbench.text.vocab import Vocab


@pytest.fixture(autouse=True)
def clean_extensions():
    saved = {cls: dict(cls._extensions) for cls in (Doc, Token, Span)}
    yield
    for cls, exts in saved.items():
        cls._extensions.clear()
        cls._extensions.update(exts)


@pytest.fixture
def doc():
    return Doc(Vocab(), ["Hello", "big", "world"])


def test_default_extension(doc):
    Doc.set_extension("score", default=0.5)
    assert Doc.has_extension("score") and doc._.score == 0.5
    doc._.score = 1.0
    assert doc._.score == 1.0 and Doc(doc.vocab, ["x"])._.score == 0.5
    assert doc._.get("score") == 1.0
    doc._.set("score", 2.0)
    assert doc._.score == 2.0 and doc._.has("score") and not doc._.has("other")
    assert "score" in dir(doc._)


def test_mutable_default_not_shared(doc):
    Doc.set_extension("notes", default=[])
    Token.set_extension("seen", default={})
    doc._.notes.append("a")
    doc[0]._.seen["k"] = 1
    other = Doc(doc.vocab, ["x"])
    assert doc._.notes == ["a"] and other._.notes == []
    assert doc[0]._.seen == {"k": 1} and doc[1]._.seen == {} and other[0]._.seen == {}
    assert Doc.get_extension("notes")[0] == []


def test_getter_setter_method(doc):
    Doc.set_extension("n_chars", getter=lambda d: len(d.text))
    assert doc._.n_chars == len("Hello big world")
    with pytest.raises(ExtensionError, match="getter and cannot be assigned"):
        doc._.n_chars = 3
    store = {}
    Doc.set_extension("upper", getter=lambda d: store.get(id(d), ""),
                      setter=lambda d, v: store.__setitem__(id(d), v.upper()))
    doc._.upper = "abc"
    assert doc._.upper == "ABC"
    Doc.set_extension("count", method=lambda d, word: d.words.count(word))
    assert doc._.count("big") == 1
    with pytest.raises(ExtensionError, match="method"):
        doc._.count = 2


def test_token_and_span_extensions_are_per_object(doc):
    Token.set_extension("flag", default=False)
    Span.set_extension("label_score", default=None)
    Span.set_extension("length", getter=len)
    doc[1]._.flag = True
    assert [t._.flag for t in doc] == [False, True, False]
    doc[0:2]._.label_score = 0.9
    assert doc[0:2]._.label_score == 0.9 and doc[1:3]._.label_score is None
    assert doc[0:3]._.length == 3
    assert not Doc.has_extension("flag")  # registries are separate per class
    with pytest.raises(ExtensionError):
        doc._.flag


def test_unregistered_access_names_the_fix(doc):
    with pytest.raises(ExtensionError, match=r"Doc\.set_extension\('missing', default=None\)"):
        doc._.missing
    with pytest.raises(ExtensionError, match=r"Token\.set_extension\('x', default=None\)"):
        doc[0]._.x
    with pytest.raises(ExtensionError, match=r"Span\.set_extension\('x', default=None\)"):
        doc[0:1]._.x = 1
    assert not hasattr(doc._, "missing")  # ExtensionError is an AttributeError


def test_registration_rules():
    with pytest.raises(ExtensionError, match="exactly one"):
        Doc.set_extension("a")
    with pytest.raises(ExtensionError, match="exactly one"):
        Doc.set_extension("a", default=1, getter=lambda d: 1)
    with pytest.raises(ExtensionError, match="exactly one"):
        Doc.set_extension("a", getter=lambda d: 1, method=lambda d: 1)
    with pytest.raises(ExtensionError, match="setter= only works together with getter"):
        Doc.set_extension("a", default=1, setter=lambda d, v: None)
    with pytest.raises(ExtensionError, match="callable"):
        Doc.set_extension("a", getter="nope")
    for bad in ("not valid", "1abc", "class", ""):
        with pytest.raises(ExtensionError, match="identifier"):
            Doc.set_extension(bad, default=1)
    for clash in ("get", "set", "has", "_private", "text", "ents"):
        with pytest.raises(ExtensionError, match="clashes"):
            Doc.set_extension(clash, default=1)
    with pytest.raises(ExtensionError, match="clashes"):
        Token.set_extension("tag_", default=1)


def test_force_and_remove(doc):
    Doc.set_extension("x", default=1)
    with pytest.raises(ExtensionError, match="already registered. Pass force=True"):
        Doc.set_extension("x", default=2)
    Doc.set_extension("x", default=2, force=True)
    assert doc._.x == 2
    removed = Doc.remove_extension("x")
    assert removed == (2, None, None, None) and not Doc.has_extension("x")
    assert Doc.get_extension("x") is None
    with pytest.raises(ExtensionError, match="no such extension"):
        Doc.remove_extension("x")


def test_default_none_is_allowed(doc):
    Doc.set_extension("maybe", default=None)
    assert doc._.maybe is None
    doc._.maybe = "set"
    assert doc._.maybe == "set"
