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


def fit_to_ones(model, docs, steps: int = 30) -> list:
    """Train `model` (width 8) towards all-ones outputs with Adam; the squared loss per step."""
    optimizer = Adam(0.01)
    target = [numpy.ones((len(d), 8), dtype="float32") for d in docs]
    losses = []
    for _ in range(steps):
        Y, backprop = model.begin_update(docs)
        losses.append(sum(float(((y - t) ** 2).sum()) for y, t in zip(Y, target)))
        backprop([y - t for y, t in zip(Y, target)])
        model.finish_update(optimizer)
    return losses


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
    losses = fit_to_ones(model, docs)
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


def test_attrs_add_one_hashed_table_each_and_bad_lists_are_named(docs):
    fix_random_seed(0)
    model = CharacterEmbed(width=8, rows=50, nM=4, nC=4, attrs=["PREFIX", "SUFFIX", "SHAPE"], attr_rows=[20, 30, 40])
    model.initialize(X=docs)
    tables = [node.get_param("E").shape for node in model.walk() if node.name == "hashembed"]
    assert tables == [(50, 8), (20, 8), (30, 8), (40, 8)]  # NORM, then the attrs in order
    mix = next(node for node in model.walk() if node.name == "maxout_norm")
    assert mix.get_dim("nI") == 4 * 8 + 4 * 4
    vocab = docs[0].vocab
    assert [y.shape for y in model.predict(docs)] == [(5, 8), (2, 8), (0, 8)]
    # same NORM ("apple"), same bytes in the first and last 2 positions: only SHAPE differs
    a, b = model.predict([Doc(vocab, words=["aPPle"]), Doc(vocab, words=["apple"])])
    assert not numpy.allclose(a, b)
    with pytest.raises(ConfigError, match="once"):
        CharacterEmbed(attrs=["NORM"])
    with pytest.raises(ConfigError, match="'rows' has 1 entries but 'attrs' has 2"):
        CharacterEmbed(attrs=["PREFIX", "SUFFIX"], attr_rows=[10])
    with pytest.raises(ConfigError, match="NOPE"):
        CharacterEmbed(attrs=["NOPE"])
    with pytest.raises(ConfigError, match="word_dropout"):
        CharacterEmbed(word_dropout=1.0)


def test_word_dropout_replaces_the_feature_key_while_training_only(docs):
    from thinc.api import Ragged

    from workbench.models.char_embed import UNKNOWN_KEY, WordDropout

    layer = WordDropout(0.3, column=0)
    keys = numpy.arange(2000 * 2, dtype="uint64").reshape(2000, 2) + 1
    Xr = Ragged(keys, numpy.asarray([1000, 1000], dtype="int32"))
    numpy.random.seed(0)
    Y, _ = layer(Xr, is_train=True)
    dropped = Y.dataXd[:, 0] == UNKNOWN_KEY
    assert 0.25 < dropped.mean() < 0.35
    assert numpy.array_equal(Y.dataXd[~dropped, 0], keys[~dropped, 0])
    assert numpy.array_equal(Y.dataXd[:, 1], keys[:, 1]) and keys.max() < UNKNOWN_KEY  # other columns, input: as they were
    assert numpy.array_equal(layer.predict(Xr).dataXd, keys)

    fix_random_seed(0)
    model = CharacterEmbed(width=8, rows=50, nM=4, nC=4, word_dropout=0.5)
    model.initialize(X=docs)
    assert numpy.array_equal(model.predict(docs)[0], model.predict(docs)[0])  # no dropout at prediction
    assert any(node.name == "word_dropout" for node in model.walk())
    assert not any(node.name == "word_dropout" for node in CharacterEmbed(width=8, rows=50, nM=4, nC=4).walk())


def test_attrs_and_word_dropout_train_and_round_trip_through_bytes(docs):
    fix_random_seed(0)
    kwargs = dict(width=8, rows=50, nM=4, nC=4, attrs=["SUFFIX", "SHAPE"], attr_rows=30, word_dropout=0.2)
    model = CharacterEmbed(**kwargs)
    model.initialize(X=docs)
    suffix = [node for node in model.walk() if node.name == "hashembed"][1]
    before = suffix.get_param("E").copy()
    losses = fit_to_ones(model, docs)
    assert losses[-1] < 0.5 * losses[0]
    assert not numpy.allclose(suffix.get_param("E"), before)  # the SUFFIX table learns
    fresh = CharacterEmbed(**kwargs)
    fresh.initialize(X=docs)
    fresh.from_bytes(model.to_bytes())
    for a, b in zip(fresh.predict(docs), model.predict(docs)):
        assert numpy.array_equal(a, b)


def test_the_ngram_bag_is_the_mean_of_the_marked_ngrams_and_learns(docs):
    from workbench.models.char_embed import _word_ngrams
    from workbench.text.strings import hash_string

    ids = _word_ngrams("Cat", (3, 4), 1000)
    expected = [hash_string(g) % 1000 for g in ["<ca", "cat", "at>", "<cat", "cat>"]]
    assert list(ids) == expected and list(_word_ngrams("a", (4,), 1000)) == [hash_string("<a>") % 1000]
    fix_random_seed(0)
    model = CharacterEmbed(width=8, rows=50, nM=4, nC=4, ngrams=[3, 4], ngram_rows=1000)
    model.initialize(X=docs)
    bag = next(node for node in model.walk() if node.name == "ngram_bag")
    Y, _ = bag(docs, is_train=False)
    E = bag.get_param("E")
    assert Y.dataXd.shape == (7, 8)
    assert numpy.allclose(Y.dataXd[0], E[_word_ngrams("The", (3, 4), 1000)].mean(axis=0))
    mix = next(node for node in model.walk() if node.name == "maxout_norm")
    assert mix.get_dim("nI") == 8 + 8 + 4 * 4
    before = E.copy()
    fit_to_ones(model, docs, steps=5)
    changed = ~numpy.isclose(bag.get_param("E"), before).all(axis=1)
    assert changed[_word_ngrams("runner", (3, 4), 1000)].all() and changed.sum() < 200  # only the words' rows
    fresh = CharacterEmbed(width=8, rows=50, nM=4, nC=4, ngrams=[3, 4], ngram_rows=1000)
    fresh.initialize(X=docs)
    fresh.from_bytes(model.to_bytes())  # attrs come back as lists
    assert numpy.array_equal(fresh.predict(docs)[0], model.predict(docs)[0])
