"""PretrainingPanel: pretraining with a live loss log, then downstream training with and without it."""
import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from widgets.converters.pretraining import PretrainEpochs, comparison_table, final_weights
from widgets.converters.training import TrainingHistory
from widgets.pretraining_panel import PRETRAINED, RANDOM, PretrainingPanel, draw_pretraining
from workbench.config import parse_config

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "The cat sat on the mat and looked at the dog in the garden.",
    "Alice works for Acme in Paris, and Bob visited London last week.",
    "A dog barked loudly while the children played outside the house.",
    "Carol Smith joined Globex Corp in Berlin after years of working abroad.",
]
CONFIG = f"""
[paths]
train = "{ROOT / 'sample_data' / 'train.jsonl'}"
dev = "{ROOT / 'sample_data' / 'dev.jsonl'}"

[nlp]
pipeline = ["tok2vec", "tagger"]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "workbench.Tok2Vec.v1"

[components.tok2vec.model.embed]
@architectures = "workbench.MultiHashEmbed.v1"
width = 32
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [500, 200, 200, 200]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "workbench.MaxoutWindowEncoder.v1"
width = 32
depth = 2
window_size = 1
maxout_pieces = 2

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "workbench.Tok2VecListener.v1"
width = 32

[training]
max_steps = 8
eval_frequency = 4

[pretraining]
max_epochs = 3
dropout = 0.0

[pretraining.batcher]
@batchers = "workbench.batch_by_words.v1"
size = 40

[pretraining.objective]
@architectures = "workbench.PretrainCharacters.v1"
hidden_size = 32
maxout_pieces = 2
n_characters = 3
"""


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf8")
    return path


def test_pretrain_epochs_keeps_the_rows_of_epoch_events():
    from workbench.training.events import TrainingEvent

    epochs = PretrainEpochs()
    epochs(TrainingEvent("step", step=1, losses={"pretraining": 4.0}))
    for epoch, loss in ((0, 3.0), (1, 2.5)):
        epochs(TrainingEvent("epoch", step=2 * epoch + 2, epoch=epoch, scores={"epoch": epoch, "loss": loss}))
    assert epochs.loss_curve() == {"epoch": [0, 1], "loss": [3.0, 2.5]}


def test_comparison_table_and_renderer():
    from workbench.training.events import TrainingEvent

    histories = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
    for name, scores in ((RANDOM, (0.5, 0.6)), (PRETRAINED, (0.7, 0.65))):
        for step, score in zip((4, 8), scores):
            histories[name](TrainingEvent("step", step=step))
            histories[name](TrainingEvent("evaluate", step=step, scores={"pos_acc": score}, score=score))
    table = comparison_table(histories).set_index("run")
    assert table.loc[RANDOM, "score"] == 0.6 and table.loc[RANDOM, "best_step"] == 8
    assert table.loc[PRETRAINED, "score"] == 0.7 and table.loc[PRETRAINED, "best_step"] == 4
    fig = Figure()
    ax_loss, ax_score = fig.subplots(1, 2)
    draw_pretraining([{"epoch": 0, "loss": 3.0}, {"epoch": 1, "loss": 2.0}], histories, ax_loss, ax_score)
    assert ax_loss.lines[0].get_ydata().tolist() == [3.0, 2.0]
    assert {l.get_label() for l in ax_score.lines} == {RANDOM, PRETRAINED}


def test_panel_pretrains_then_compares(tmp_path, texts, capsys):
    panel = PretrainingPanel(parse_config(CONFIG), texts, tmp_path / "exp")
    assert panel.config["paths"]["raw_text"] == str(texts)
    assert panel.config["pretraining"]["component"] == "tok2vec"
    panel.run_button.click()
    panel.wait(timeout=600)
    assert panel.error is None, panel.status.value
    assert panel.stage == "done" and panel.progress.value == 1.0
    assert [r["epoch"] for r in panel.pretrain_epochs.rows] == [0, 1, 2]
    run = tmp_path / "exp" / "run-001"
    assert panel.run_path == run
    assert panel.weights == run / "pretrain" / "model2.bin" and panel.weights.exists()
    assert final_weights(run / "pretrain") == panel.weights
    assert any("epoch    2" in line for line in panel.lines.lines)
    table = panel.table.set_index("run")
    assert set(table.index) == {RANDOM, PRETRAINED} and "pos_acc" in table.columns
    assert (table["steps"] == 8).all()
    assert "<table" in panel.table_view.value and "model2.bin" in panel.status.value
    assert (run / "pretrained" / "model-last").exists() and (run / "pretrained" / "events.jsonl").exists()
    assert (run / "random" / "model-last").exists() and (run / "random" / "events.jsonl").exists()
    # the engine's prints are kept in the panel, not printed under it
    assert any(line.startswith("init_tok2vec: loaded") for line in panel.log)
    assert "init_tok2vec" not in capsys.readouterr().out
    # the pretrained run really started from the file's weights, the other did not
    assert panel.results[PRETRAINED].nlp.config["initialize"]["init_tok2vec"] == str(panel.weights)
    assert panel.results[RANDOM].nlp.config["initialize"]["init_tok2vec"] is None
    assert panel.image.value[:4] == b"\x89PNG"
    assert panel.export(tmp_path / "panel.svg").exists()


def test_panel_reports_failures(tmp_path):
    panel = PretrainingPanel(parse_config(CONFIG), tmp_path / "missing.jsonl", tmp_path / "exp")
    panel.run()
    panel.wait(timeout=120)
    assert panel.stage == "failed" and panel.error is not None
    assert "pretraining failed" in panel.status.value and not panel.run_button.disabled


def test_stop_applies_to_the_running_phase(tmp_path, texts):
    import time

    panel = PretrainingPanel(parse_config(CONFIG), texts, tmp_path / "exp", pretrain_overrides={"pretraining.max_epochs": 200})
    panel.run()
    deadline = time.time() + 300
    while not (panel.pretrain_epochs and panel.pretrain_epochs.rows) and time.time() < deadline:
        time.sleep(0.05)
    assert panel.stage == "pretraining" and panel.stop_button.description == "stop pretraining"
    panel.stop_button.click()
    panel.wait(timeout=600)
    assert panel.error is None, panel.status.value
    epochs = len(panel.pretrain_epochs.rows)
    assert 1 <= epochs < 200 and panel.weights.name == f"model{epochs - 1}.bin" and panel.weights.exists()
    assert panel.pretrain_epochs.rows[-1].get("stopped") and panel.pretrain_result.stopped_by == "stop requested"
    table = panel.table.set_index("run")  # pretraining stopped; both runs then trained in full
    assert set(table.index) == {RANDOM, PRETRAINED} and (table["steps"] == 8).all()
    assert not table.isna().any().any()
    assert panel.status.value.startswith("done (pretraining stopped on request)")
    assert panel.stop_button.description == "stop" and panel.stop_button.disabled
    assert panel.run_path == tmp_path / "exp" / "run-001"


def test_stopping_a_run_leaves_only_rows_that_evaluated(tmp_path, texts):
    from workbench.training.events import TrainingEvent

    histories = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
    histories[RANDOM](TrainingEvent("evaluate", step=3, scores={"pos_acc": 0.5}, score=0.5))
    panel = PretrainingPanel(parse_config(CONFIG), texts, tmp_path / "exp")
    panel.histories = histories
    assert list(panel.table["run"]) == [RANDOM]
