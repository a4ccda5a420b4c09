"""CharacterEmbed (spacy.CharacterEmbed.v2): the bytes it reads, its shapes, that it learns."""
import numpy
import pytest
from confection import Config
from thinc.api import Adam, fix_random_seed

import workbench.registrations  # noqa: F401 (the architecture names)
from workbench.errors import ConfigError
from workbench.models.char_embed import CharacterEmbed, char_ids
from workbench.registry import registry
from workbench.text import Doc, Vocab


@pytest.fixture
def docs():
    vocab = Vocab()
    return [Doc(vocab, words="The runner was running quickly".split()), Doc(vocab, words=["é", "at"]), Doc(vocab, words=[])]


def test_char_ids_are_the_first_and_last_utf8_bytes_padded_with_zeros(docs):
    ids = char_ids(docs, nC=6)
    assert ids.shape == (7, 6) and ids.dtype == numpy.uint8
    assert bytes(ids[3]) == b"runing"  # "running": first 3 bytes "run", last 3 "ing"
    assert bytes(ids[4]) == b"quikly"
    assert list(ids[0]) == [ord("T"), ord("h"), ord("e"), ord("T"), ord("h"), ord("e")]
    assert list(ids[5]) == [0xC3, 0xA9, 0, 0, 0xC3, 0xA9]  # "é" is two bytes, front and back
    assert list(ids[6][:2]) == [ord("a"), ord("t")] and list(ids[6][-2:]) == [ord("a"), ord("t")]


def test_output_is_one_width_array_per_doc_and_a_suffix_changes_it(docs):
    fix_random_seed(0)
    model = CharacterEmbed(width=16, rows=50, nM=4, nC=4)
    model.initialize(X=docs)
    Y = model.predict(docs)
    assert [y.shape for y in Y] == [(5, 16), (2, 16), (0, 16)]
    vocab = docs[0].vocab
    a, b = model.predict([Doc(vocab, words=["walked"]), Doc(vocab, words=["walking"])])
    assert not numpy.allclose(a, b)


def test_the_character_tables_learn(docs):
    fix_random_seed(0)
    model = CharacterEmbed(width=8, rows=50, nM=4, nC=4)
    model.initialize(X=docs)
    table = next(node for node in model.walk() if node.name == "char_table")
    before = table.get_param("E").copy()
    optimizer = Adam(0.01)
    target = [numpy.ones((len(d), 8), dtype="float32") for d in docs]
    losses = []
    for _ in range(30):
        Y, backprop = model.begin_update(docs)
        losses.append(sum(float(((y - t) ** 2).sum()) for y, t in zip(Y, target)))
        backprop([y - t for y, t in zip(Y, target)])
        model.finish_update(optimizer)
    assert losses[-1] < 0.5 * losses[0]
    after = table.get_param("E")
    used = char_ids(docs, 4)
    assert not numpy.allclose(after[0, used[0, 0]], before[0, used[0, 0]])
    assert numpy.array_equal(after[0, ord("Z")], before[0, ord("Z")])  # a byte no word starts with: untouched


def test_the_spacy_name_builds_it_in_a_tok2vec_and_bad_settings_are_named():
    block = {"@architectures": "workbench.Tok2Vec.v1",
             "embed": {"@architectures": "spacy.CharacterEmbed.v2", "width": 32, "rows": 100, "nM": 8, "nC": 4},
             "encode": {"@architectures": "workbench.MaxoutWindowEncoder.v1", "width": 32, "depth": 1,
                        "window_size": 1, "maxout_pieces": 3}}
    model = registry.resolve(Config({"m": block}))["m"]
    assert model.get_dim("nO") == 32
    with pytest.raises(ConfigError, match="feature"):
        CharacterEmbed(feature="NOPE")
    with pytest.raises(Exception, match="nC"):
        registry.resolve(Config({"m": {"@architectures": "spacy.CharacterEmbed.v2", "nC": 0}}))
