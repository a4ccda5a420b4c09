"""PipelineLayout and layout_data: nodes, edges, parameter counts, sizes, make independent."""
from pathlib import Path

import pytest
from thinc.api import Linear

import workbench
from tests.helpers.trf import tiny_bert_path
from widgets.converters.layout import (
    compare_layouts,
    count_params,
    format_bytes,
    format_count,
    layout_data,
    sample_examples,
)
from widgets.layout import PipelineLayout, layout_figure
from workbench.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "sample_data" / "configs"


@pytest.fixture(scope="module")
def shared_config():
    return load_config(CONFIGS / "shared.cfg")


def by_id(data):
    return {n["id"]: n for n in data["nodes"]}


def edges(data, kind):
    return {(e["source"], e["target"]) for e in data["edges"] if e["kind"] == kind}


def test_count_params():
    model = Linear(3, 4)
    model.initialize()
    assert count_params(model) == 3 * 4 + 3
    assert format_count(1_540_000) == "1.54M" and format_count(950) == "950"
    assert format_bytes(3 * 2 ** 20) == "3.0 MB"


def test_shared_layout(shared_config):
    data = layout_data(shared_config)
    nodes = by_id(data)
    assert data["pipeline"] == ["tok2vec", "tagger", "ner"]
    assert nodes["tok2vec/embedding"]["kind"] == "embedding"
    assert nodes["tok2vec/embedding"]["architecture"] == "Tok2Vec.v1"
    assert nodes["tagger/listener"]["kind"] == nodes["ner/listener"]["kind"] == "listener"
    assert edges(data, "listens") == {("tok2vec/embedding", "tagger/listener"), ("tok2vec/embedding", "ner/listener")}
    assert ("tagger/listener", "tagger") in edges(data, "owns")
    assert data["listening"] == {"tok2vec": ["tagger", "ner"]}
    params = data["params"]["by_component"]
    assert params["tok2vec"] > 1_000_000 and 0 < params["tagger"] < 10_000
    assert nodes["tagger/listener"]["params"] == 0  # a listener holds no weights
    assert data["params"]["total"] == sum(params.values())
    assert data["bytes"]["total"] == sum(data["bytes"]["by_component"].values())
    assert data["bytes"]["by_component"]["tok2vec"] > 4 * params["tok2vec"]  # float32 weights
    assert data["measured"] and data["notes"]


def test_independent_layout():
    data = layout_data(load_config(CONFIGS / "independent.cfg"))
    nodes = by_id(data)
    assert {n["kind"] for n in data["nodes"] if n["row"] == 1} == {"own"}
    assert edges(data, "listens") == set()
    assert nodes["tagger"]["total_params"] == nodes["tagger/embedding"]["params"] + nodes["tagger"]["params"]


def test_unmeasured_layout_builds_nothing_heavy(shared_config):
    data = layout_data(shared_config, measure=False)
    assert data["params"]["total"] is None
    assert all(n["params"] is None or n["kind"] == "listener" for n in data["nodes"])
    assert edges(data, "listens")


def test_compare_shared_and_independent(shared_config):
    both = compare_layouts(shared_config)
    shared, independent = both["shared"], both["independent"]
    assert independent["pipeline"] == ["tagger", "ner"]  # the tok2vec nobody listens to is dropped
    assert any("removed" in n for n in both["notes"])
    s, i = shared["params"]["by_component"], independent["params"]["by_component"]
    # making a component independent copies the upstream's weights into it
    assert i["tagger"] == s["tok2vec"] + s["tagger"]
    assert i["ner"] == s["tok2vec"] + s["ner"]
    assert independent["params"]["total"] > shared["params"]["total"]
    # and from an independent config, the shared version comes from build_init_config
    back = compare_layouts(load_config(CONFIGS / "independent.cfg"))
    assert back["shared"]["listening"] == {"tok2vec": ["tagger", "ner"]}


def test_widget_make_independent_changes_the_live_pipeline(shared_config, tmp_path):
    nlp = workbench.Pipeline.from_config(shared_config)
    view = PipelineLayout(nlp)
    assert view.nlp is nlp
    assert list(view.component.options) == ["tagger", "ner"]
    assert len(view.layouts) == 2 and view.layouts[1]["title"] == "all independent"
    assert "1.5" in view.summary.value  # parameter counts in the table
    before = view.image.value
    assert before[:4] == b"\x89PNG"
    view.component.value = "ner"
    view.independent_button.click()
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    assert by_id(view.data)["ner/embedding"]["kind"] == "own"
    assert list(view.component.options) == ["tagger", "ner"]  # ner can be made shared again
    assert view.data["title"] == "mixed: tagger listens, ner independent"
    assert not view.shared_button.disabled and view.independent_button.disabled and not view.undo_button.disabled
    assert view.image.value != before
    view.make_independent("tagger")
    view.component.value = "tagger"
    assert view.independent_button.disabled and not view.shared_button.disabled
    assert "no listener left" in view.status.value
    assert view.layouts[1]["title"] == "shared"  # the other version is now the shared one
    assert view.data["title"] == "independent: tagger, ner own an embedding"
    png = view.export(tmp_path / "layout.png")
    svg = view.export(tmp_path / "layout", "svg")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert svg.suffix == ".svg" and "<svg" in svg.read_text()
    view.filename.value = str(tmp_path / "clicked")
    view.export_button.click()
    assert (tmp_path / "clicked.png").exists()


def test_figure_draws_every_node(shared_config):
    data = layout_data(shared_config)
    fig = layout_figure([data, None])
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("tok2vec\nshared by 2") for t in texts)
    assert sum(t.startswith("listener") for t in texts) == 2
    assert len(ax.patches) == len(data["nodes"]) + len(data["edges"])
    assert "1.54M params" in ax.get_title()
    assert "no other version" in fig.axes[1].texts[0].get_text()


def test_transformer_layout_counts_torch_parameters():
    from workbench.models.transformer.model import hf_model

    config = f"""
[components.transformer]
factory = "transformer"

[components.transformer.model]
@architectures = "workbench.TransformerModel.v1"
name = "{tiny_bert_path()}"

[components.tagger]
factory = "tagger"

[components.tagger.model.tok2vec]
@architectures = "workbench.TransformerListener.v1"
grad_factor = 1.0
"""
    data = layout_data(config)
    nodes = by_id(data)
    assert nodes["transformer/embedding"]["kind"] == "embedding"
    assert edges(data, "listens") == {("transformer/embedding", "tagger/listener")}
    nlp = workbench.Pipeline.from_config(config)
    examples = sample_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    torch_params = sum(p.numel() for p in hf_model(nlp.get_pipe("transformer").model).parameters())
    assert data["params"]["by_component"]["transformer"] == torch_params
    both = compare_layouts(config)
    assert both["independent"] is None
    assert any("stays on transformer" in n for n in both["notes"])


def test_layout_goes_both_ways_and_follows_changes_made_in_code(shared_config):
    import time

    from tests.helpers import tiny_examples

    nlp = workbench.Pipeline.from_config(shared_config)
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: examples)
    texts = [" ".join(eg.reference.text.split()) for eg in examples]

    def predictions():
        return [([t.pos_ for t in d], [(e.start, e.end, e.label_) for e in d.ents]) for d in nlp.pipe(texts)]

    before = predictions()
    view = PipelineLayout(nlp, watch=0.1)
    assert view.data["title"] == "shared: tagger, ner listen to tok2vec"
    view.component.value = "ner"
    view.independent_button.click()
    assert predictions() == before
    view.shared_button.click()  # make shared again: the same weights, the same predictions
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger", "ner"]
    assert nlp.config["components"]["ner"]["model"]["tok2vec"]["@architectures"] == "workbench.Tok2VecListener.v1"
    assert predictions() == before
    view.undo_button.click()  # undo "make shared"
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    view.undo_button.click()  # undo "make independent"
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger", "ner"] and view.undo_button.disabled
    assert predictions() == before
    # a change made in code is drawn without touching the view
    drawn = bytes(view.image.value)
    nlp.make_independent("tagger")
    deadline = time.time() + 30
    while bytes(view.image.value) == drawn and time.time() < deadline:
        time.sleep(0.05)
    assert view.data["title"] == "mixed: ner listens, tagger independent"
    assert bytes(view.image.value) != drawn
    assert not view.refresh()  # nothing changed since
    view.close()


def test_a_change_made_in_the_view_keeps_its_notes_while_the_watcher_polls(shared_config):
    # the watcher thread redraws on a pipeline change; it must not redraw half-way through
    # a change made by the view itself and drop that change's notes
    for _ in range(8):
        nlp = workbench.Pipeline.from_config(shared_config)
        view = PipelineLayout(nlp, measure=False, compare=False, watch=0.001)
        view.make_independent("ner")
        view.make_independent("tagger")
        assert "no listener left" in view.status.value
        view.close()
