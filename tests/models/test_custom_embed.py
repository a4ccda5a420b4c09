"""Custom embedding layers: the spec's two examples trained through the CLI with --code."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
from thinc.api import Embed, Ragged, add, chain, remap_ids

import workbench
from tests.helpers import TINY, tiny_examples
from workbench.config import parse_config, resolve_block
from workbench.errors import ConfigError, ShapeError
from workbench.models import FeatureExtractor, MaxoutWindowEncoder, StaticVectors, Tok2Vec
from workbench.models.combinators import to_doc_arrays
from workbench.models.custom_embed import AddableRagged
from workbench.vectors.table import Vectors

DATA = Path(__file__).resolve().parents[1] / "data"
WIDTH = 16


def run(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny corpus and tiny vectors made with `init vectors` from a .vec file."""
    root = tmp_path_factory.mktemp("custom_embed")
    nlp = workbench.blank("en")
    corpus = root / "tiny.jsonl"
    with corpus.open("w") as f:
        for eg in tiny_examples(nlp) * 2:
            f.write(json.dumps(eg.reference.to_json()) + "\n")
    words = sorted({w for ws, _, _ in TINY for w in ws} - {"Acme", "Globex"})  # a few words lack vectors
    rng = numpy.random.default_rng(0)
    vec = root / "tiny.vec"
    vec.write_text(f"{len(words)} 6\n" + "".join(
        w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=6)) + "\n" for w in words))
    res = run("init", "vectors", "en", vec, root / "vectors", "--no-progress")
    assert res.returncode == 0, res.stderr
    return root, corpus, root / "vectors"


def tagger_config(embed_block: str) -> str:
    return f"""
[nlp]
lang = "en"
pipeline = ["tagger"]

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "workbench.Tagger.v1"
nO = null

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2Vec.v1"

[components.tagger.model.tok2vec.embed]
{embed_block}

[components.tagger.model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v1"
width = {WIDTH}
depth = 1
window_size = 1
maxout_pieces = 2

[training]
max_steps = 3
eval_frequency = 3
"""


def train_cli(root: Path, name: str, corpus: Path, vectors: Path, code: Path, embed_block: str):
    partial = root / f"{name}.cfg"
    partial.write_text(tagger_config(embed_block))
    filled = root / f"{name}-filled.cfg"
    res = run("init", "fill-config", partial, filled, "--code", code)
    assert res.returncode == 0, res.stderr
    out = root / f"{name}-out"
    res = run("train", filled, "--code", code, "--output", out, "--paths.train", corpus, "--paths.dev", corpus,
              "--paths.vectors", vectors, "--no-progress")
    assert res.returncode == 0, res.stdout + res.stderr
    return res, out


def import_fixture(name: str):
    spec = importlib.util.spec_from_file_location(f"fixture_{name}", DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_my_embedding_static_vectors_trains_with_code(setup):
    root, corpus, vectors = setup
    code = DATA / "custom_embed_static.py"
    block = f'@architectures = "my_example.MyEmbedding.v1"\noutput_width = {WIDTH}'
    res, out = train_cli(root, "static", corpus, vectors, code, block)
    assert "I was imported!" in res.stdout and "I was called!" in res.stdout
    assert "Done (max_steps)" in res.stdout
    import_fixture("custom_embed_static")
    nlp = workbench.load(out / "model-last")
    embed = nlp.get_pipe("tagger").model.get_ref("tok2vec").layers[0]
    assert embed.name == "static_vectors" and embed.get_param("W").shape == (WIDTH, 6)
    assert len(nlp.vocab.vectors) > 0  # the vectors were saved with the pipeline
    doc = nlp("The cat sat on the mat .")
    assert all(t.tag_ for t in doc)


def test_my_custom_vectors_summed_with_remapped_embed_trains_with_code(setup):
    root, corpus, vectors = setup
    code = DATA / "custom_embed_summed.py"
    strings = workbench.blank("en").vocab.strings
    key2row = {str(strings.add(w)): i + 1 for i, w in enumerate(["Acme", "Globex", "the", "cat"])}
    block = (f'@architectures = "my_example.MyEmbedding.v1"\noutput_width = {WIDTH}\nvector_width = 6\n'
             f"embed_rows = 5\nkey2row = {json.dumps(key2row)}")
    res, out = train_cli(root, "summed", corpus, vectors, code, block)
    assert "Done (max_steps)" in res.stdout
    import_fixture("custom_embed_summed")
    nlp = workbench.load(out / "model-last")
    model = nlp.get_pipe("tagger").model
    remap = next(node for node in model.walk() if node.name == "remap_ids")
    assert remap.attrs["mapping_table"] == {int(k): v for k, v in key2row.items()}  # int keys from the .cfg's strings
    E = next(node for node in model.walk() if node.name == "embed").get_param("E")
    assert E.shape == (5, WIDTH)
    doc = nlp("Acme hired the cat .")
    assert all(t.tag_ for t in doc)


def test_feature_extractor_with_thinc_remap_ids_and_embed_gives_rows_per_word():
    nlp = workbench.blank("en")
    docs = [nlp.make_doc("the cat sat"), nlp.make_doc("a cat")]
    feats = FeatureExtractor(["ORTH"]).predict(docs)
    assert feats.dtype == numpy.uint64 and feats.shape == (5,)
    assert feats[1] == nlp.vocab.strings["cat"] == feats[4]
    both = FeatureExtractor(["ORTH", "lower"]).predict(docs)
    assert both.shape == (5, 2)
    numpy.testing.assert_array_equal(both, numpy.concatenate([d.to_array(["ORTH", "LOWER"]) for d in docs]))
    key2row = {nlp.vocab.strings["cat"]: 1, nlp.vocab.strings["sat"]: 2}
    ids = chain(FeatureExtractor(["ORTH"]), remap_ids(key2row)).predict(docs)
    assert ids[:, 0].tolist() == [0, 1, 2, 0, 1]
    with pytest.raises(ConfigError, match="LEMMA"):
        FeatureExtractor(["LEMMA"])


def test_doc_to_array_takes_numpy_attribute_ids():
    nlp = workbench.blank("en")
    doc = nlp.make_doc("The cat")
    numpy.testing.assert_array_equal(doc.to_array(numpy.array([0, 1])), doc.to_array(["ORTH", "LOWER"]))
    assert doc.to_array(numpy.int64(1)).tolist() == doc.to_array("LOWER").tolist()


def make_vocab_docs():
    nlp = workbench.blank("en")
    words = ["the", "cat", "sat"]
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=numpy.eye(3, 4, dtype="float32"), keys=words)
    return nlp, [nlp.make_doc("the cat sat on the mat"), nlp.make_doc("a cat")]


def test_summed_embedding_backpropagates_into_both_branches():
    nlp, docs = make_vocab_docs()
    key2row = {nlp.vocab.strings["cat"]: 1}
    embed = add(StaticVectors(nO=8), chain(FeatureExtractor(["ORTH"]), remap_ids(key2row), Embed(nO=8, nV=3)))
    model = Tok2Vec(embed, MaxoutWindowEncoder(width=8, depth=1))
    model.initialize(X=docs)
    Y, backprop = model.begin_update(docs)
    assert [y.shape for y in Y] == [(6, 8), (2, 8)]
    backprop([numpy.ones_like(y) for y in Y])
    static = next(n for n in model.walk() if n.name == "static_vectors")
    table = next(n for n in model.walk() if n.name == "embed")
    assert numpy.abs(static.get_grad("W")).sum() > 0
    dE = table.get_grad("E")
    assert numpy.abs(dE[1]).sum() > 0 and numpy.abs(dE[2]).sum() == 0  # "cat" row learns; unused row not


def test_static_vectors_alone_as_embed():
    nlp, docs = make_vocab_docs()
    model = Tok2Vec(StaticVectors(nO=8), MaxoutWindowEncoder(width=8, depth=1))
    model.initialize(X=docs)
    Y, backprop = model.begin_update(docs)
    assert [y.shape for y in Y] == [(6, 8), (2, 8)]
    backprop([numpy.ones_like(y) for y in Y])
    assert numpy.abs(model.layers[0].get_grad("W")).sum() > 0


def test_addable_ragged_and_to_doc_arrays_shapes():
    r = AddableRagged(numpy.ones((3, 2), dtype="f"), numpy.array([2, 1], dtype="i"))
    e = numpy.full((3, 1, 2), 2.0, dtype="f")  # thinc Embed after remap_ids: (N, 1, width)
    s = r + e
    assert s.shape == (3, 1, 2) and (s == 3).all()
    s2 = e.copy()
    s2 += r
    assert s2.shape == (3, 1, 2) and (s2 == 3).all()
    with pytest.raises(ShapeError, match="same width"):
        r + numpy.ones((3, 5), dtype="f")
    nlp = workbench.blank("en")
    docs = [nlp.make_doc("a b"), nlp.make_doc("c")]
    arrays, to_grad = to_doc_arrays(s, docs)
    assert [a.shape for a in arrays] == [(2, 2), (1, 2)]
    assert to_grad([numpy.zeros((2, 2), "f"), numpy.zeros((1, 2), "f")]).shape == (3, 1, 2)
    arrays, to_grad = to_doc_arrays(Ragged(numpy.ones((3, 2), "f"), numpy.array([2, 1], "i")), docs)
    assert isinstance(to_grad(arrays), Ragged)
    with pytest.raises(ShapeError, match="3 tokens"):
        to_doc_arrays(numpy.ones((4, 2), "f"), docs)


def test_int_keyed_dict_arguments_get_int_keys_and_bad_keys_are_named():
    mod = import_fixture("custom_embed_summed")
    assert mod.MyCustomVectors
    cfg = parse_config('[x]\n@architectures = "my_example.MyEmbedding.v1"\noutput_width = 4\nvector_width = 4\n'
                       'embed_rows = 3\nkey2row = {"12345": 1, " 7": 2}\n')
    model = resolve_block(dict(cfg["x"]), "components.x.model")
    remap = next(n for n in model.walk() if n.name == "remap_ids")
    assert remap.attrs["mapping_table"] == {12345: 1, 7: 2}
    bad = parse_config('[x]\n@architectures = "my_example.MyEmbedding.v1"\noutput_width = 4\nvector_width = 4\n'
                       'embed_rows = 3\nkey2row = {"cat": 1}\n')
    with pytest.raises(ConfigError, match=r"components\.x\.model\.key2row.*'cat'"):
        resolve_block(dict(bad["x"]), "components.x.model")
