import numpy
import pytest

from workbench.errors import ConfigError, DataError
from workbench.text.doc import Doc, Span, Token
from workbench.text.vocab import Vocab


@pytest.fixture
def vocab():
    return Vocab()


@pytest.fixture
def doc(vocab):
    words = ["Mr.", "Smith", "visited", "New", "York", ".", "He", "liked", "it", "!"]
    spaces = [True, True, True, True, False, True, True, True, False, False]
    return Doc(vocab, words, spaces)


def test_text_offsets_and_whitespace(doc):
    assert doc.text == "Mr. Smith visited New York. He liked it!"
    assert len(doc) == 10
    for token in doc:
        assert doc.text[token.idx:token.idx + len(token)] == token.text
    assert doc[4].whitespace_ == "" and doc[3].whitespace_ == " "
    assert doc[3].text_with_ws == "New " and "".join(t.text_with_ws for t in doc) == doc.text
    assert doc[-1].text == "!" and doc[-1].i == 9
    assert str(doc) == doc.text


def test_default_spaces(vocab):
    doc = Doc(vocab, ["a", "b", "c"])
    assert doc.spaces == [True, True, False] and doc.text == "a b c"
    assert Doc(vocab, []).text == ""


def test_constructor_validation(vocab):
    with pytest.raises(DataError, match="'spaces' has 1 values but the doc has 2 words"):
        Doc(vocab, ["a", "b"], [True])
    with pytest.raises(DataError, match="word 1"):
        Doc(vocab, ["a", ""])
    with pytest.raises(DataError, match="'tags' has 1 values"):
        Doc(vocab, ["a", "b"], tags=["X"])


def test_indexing(doc):
    with pytest.raises(IndexError, match="out of range"):
        doc[10]
    with pytest.raises(IndexError):
        doc[-11]
    span = doc[3:5]
    assert isinstance(span, Span) and span.text == "New York" and (span.start, span.end) == (3, 5)
    assert doc[8:].text == "it!" and doc[5:2].text == "" and len(doc[5:2]) == 0
    with pytest.raises(DataError, match="contiguous"):
        doc[::2]
    assert doc[1] == doc[1] and doc[1] != doc[2] and len({doc[1], doc[1]}) == 1


def test_token_lexical_attributes(doc):
    token = doc[1]
    assert (token.orth_, token.lower_, token.shape_, token.prefix_, token.suffix_) == (
        "Smith", "smith", "Xxxxx", "S", "ith")
    assert token.is_alpha and token.is_title and not token.is_stop
    assert doc[5].is_punct and doc[6].is_stop
    assert token.lex is doc.vocab["Smith"] and token.orth == doc.vocab.strings["Smith"]
    assert token.nbor().text == "visited" and token.nbor(-1).text == "Mr."
    with pytest.raises(IndexError):
        doc[9].nbor()


def test_tags_and_pos(doc):
    assert doc.tags == [None] * 10 and doc[0].tag_ == ""
    doc[0].tag_ = "NNP"
    doc[2].pos_ = "VERB"
    assert doc.tags[0] == "NNP" and doc[0].tag_ == "NNP" and doc.pos[2] == "VERB"
    doc.tags = ["X"] * 10
    assert doc[9].tag_ == "X"
    with pytest.raises(DataError):
        doc.pos = ["X"]


def test_sents_default_and_set(doc):
    assert not doc.has_sents
    assert [s.text for s in doc.sents] == [doc.text]
    doc[6].is_sent_start = True
    assert doc.has_sents
    assert [s.text for s in doc.sents] == ["Mr. Smith visited New York.", "He liked it!"]
    assert doc[7].sent.text == "He liked it!" and doc[1].sent.start == 0
    assert doc[7:9].sent == doc[6:10]
    assert doc[0].is_sent_start is True and doc[1].is_sent_start is None
    assert list(Doc(doc.vocab, []).sents) == []


def test_sent_starts_in_constructor(vocab):
    doc = Doc(vocab, ["a", "b", "c", "d"], sent_starts=[True, False, True, False])
    assert [s.words for s in doc.sents] == [["a", "b"], ["c", "d"]]
    assert doc[1].is_sent_start is False


def test_ents_from_tuples_spans_and_tags(doc):
    doc.ents = [(3, 5, "GPE"), (1, 2, "PERSON")]
    assert [(e.text, e.label_) for e in doc.ents] == [("Smith", "PERSON"), ("New York", "GPE")]
    assert [t.ent_iob_ for t in doc[:6]] == ["O", "B", "O", "B", "I", "O"]
    assert doc[4].ent_type_ == "GPE" and doc[0].ent_type_ == ""
    doc.ents = [Span(doc, 0, 2, "PERSON")]
    assert [e.text for e in doc.ents] == ["Mr. Smith"] and doc[4].ent_iob_ == "O"
    doc.ents = ["O", "B-PERSON", "O", "B-GPE", "I-GPE", "O", "O", "O", "O", "O"]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 2, "PERSON"), (3, 5, "GPE")]
    doc.ents = ["O", "U-PERSON", "O", "B-GPE", "L-GPE", "O", "O", "O", "O", "O"]
    assert len(doc.ents) == 2
    doc.ents = []
    assert doc.ents == ()


def test_ents_in_constructor(vocab):
    doc = Doc(vocab, ["Ada", "Lovelace", "wrote"], ents=["I-PER", "I-PER", "O"])  # IOB1
    assert [(e.text, e.label_) for e in doc.ents] == [("Ada Lovelace", "PER")]
    doc = Doc(vocab, ["Ada", "Lovelace", "wrote"], ents=[(0, 1, "PER")])
    assert doc.ents[0].text == "Ada"


def test_ents_errors(doc):
    with pytest.raises(DataError, match="overlap"):
        doc.ents = [(0, 2, "PERSON"), (1, 3, "X")]
    with pytest.raises(DataError, match="outside"):
        doc.ents = [(8, 11, "X")]
    with pytest.raises(DataError, match="empty or outside"):
        doc.ents = [(2, 2, "X")]
    with pytest.raises(DataError, match="empty label"):
        doc.ents = [(0, 1, "")]
    with pytest.raises(DataError, match="Token 1"):
        doc.ents = ["O", "I-X", "O", "O", "O", "O", "O", "O", "L-X", "O"]
    other = Doc(doc.vocab, ["x"])
    with pytest.raises(DataError, match="another Doc"):
        doc.ents = [other[0:1]]
    with pytest.raises(DataError, match="IOB/BILUO"):
        doc.ents = [5]


def test_char_span(doc):
    assert doc.char_span(4, 9).text == "Smith"
    span = doc.char_span(18, 26, label="GPE")
    assert span.text == "New York" and span.label_ == "GPE" and (span.start, span.end) == (3, 5)
    assert doc.char_span(5, 9) is None and doc.char_span(4, 8) is None
    assert doc.char_span(0, 0) is None and doc.char_span(100, 200) is None
    assert doc.char_span(5, 12, alignment_mode="expand").text == "Smith visited"
    assert doc.char_span(5, 19, alignment_mode="contract").text == "visited"
    assert doc.char_span(5, 8, alignment_mode="contract") is None
    with pytest.raises(ConfigError, match="alignment_mode"):
        doc.char_span(0, 3, alignment_mode="loose")


def test_to_array(doc):
    arr = doc.to_array(["ORTH", "shape", 1])
    assert arr.dtype == numpy.uint64 and arr.shape == (10, 3)
    assert arr[1, 0] == doc.vocab.strings["Smith"] and arr[1, 1] == doc.vocab.strings["Xxxxx"]
    assert arr[1, 2] == doc.vocab.strings["smith"]
    single = doc.to_array("LOWER")
    assert single.shape == (10,) and single.tolist() == arr[:, 2].tolist()
    assert doc.lex_rows is doc.lex_rows and doc.lex_rows.dtype == numpy.int64
    with pytest.raises(ConfigError):
        doc.to_array(["TAG"])


def test_to_json_round_trip(doc):
    doc[0].tag_ = "NNP"
    doc[6].is_sent_start = True
    doc.ents = [(3, 5, "GPE")]
    data = doc.to_json()
    assert set(data) == {"text", "words", "spaces", "tags", "pos", "sent_starts", "ents"}
    assert data["ents"] == [[3, 5, "GPE"]] and data["text"] == doc.text
    again = Doc.from_json(doc.vocab, data)
    assert again.to_json() == data
    import json
    assert Doc.from_json(doc.vocab, json.loads(json.dumps(data))).to_json() == data


def test_from_json_minimal_and_text(vocab):
    doc = Doc.from_json(vocab, {"words": ["Hi", "there", "!"]})
    assert doc.text == "Hi there !" and doc.tags == [None] * 3
    doc = Doc.from_json(vocab, {"words": ["Hi", "there", "!"], "text": "Hi there!"})
    assert doc.spaces == [True, False, False]
    with pytest.raises(DataError, match="word 1"):
        Doc.from_json(vocab, {"words": ["Hi", "here"], "text": "Hi there"})
    with pytest.raises(DataError, match="does not match"):
        Doc.from_json(vocab, {"words": ["Hi"], "spaces": [True], "text": "Hi"})
    with pytest.raises(DataError, match="'words' list"):
        Doc.from_json(vocab, {"text": "no words"})


def test_span_api(doc):
    span = Span(doc, 3, 5, "GPE")
    assert (span.start_char, span.end_char) == (18, 26) and span.text == "New York"
    assert span.text_with_ws == "New York" and doc[2:4].text_with_ws == "visited New "
    assert [t.text for t in span] == ["New", "York"] and span[-1].text == "York"
    assert span[1:].text == "York" and len(span) == 2 and span.words == ["New", "York"]
    assert span == Span(doc, 3, 5, "GPE") and span != Span(doc, 3, 5)
    assert span.label == doc.vocab.strings["GPE"]
    with pytest.raises(IndexError):
        span[2]
    with pytest.raises(DataError, match="outside"):
        Span(doc, 4, 11)
    empty = Span(doc, 10, 10)
    assert empty.text == "" and empty.start_char == len(doc.text)


def test_span_as_doc(doc):
    doc.tags = [f"T{i}" for i in range(10)]
    doc.ents = [(1, 2, "PERSON"), (3, 5, "GPE")]
    sub = doc[2:6].as_doc()
    assert sub.words == ["visited", "New", "York", "."] and sub.text == "visited New York."
    assert sub.tags == ["T2", "T3", "T4", "T5"]
    assert [(e.start, e.end, e.label_) for e in sub.ents] == [(1, 3, "GPE")]
    assert doc[2:6].ents == (Span(doc, 3, 5, "GPE"),)
    sub.tags[0] = "changed"
    assert doc.tags[2] == "T2"


def test_doc_copy_is_independent(doc):
    doc.tags = ["X"] * 10
    doc.ents = [(0, 2, "PERSON")]
    copy = doc.copy()
    copy.tags[0] = "Y"
    copy.ents = []
    assert doc.tags[0] == "X" and len(doc.ents) == 1 and copy.text == doc.text


def test_token_and_span_repr(doc):
    assert repr(doc[1]) == "Smith" and str(doc[3:5]) == "New York" and isinstance(doc[0], Token)
    assert doc.user_data == {} and doc.tensor is None
