"""Progress bars for long cells: % and ETA, loops, training events, pretraining epochs, quiet()."""

from widgets.progress import ProgressBar, quiet, track
from workbench.pretraining.loop import pretrain
from workbench.training.events import TrainingEvent


def test_bar_shows_count_percent_and_eta():
    bar = ProgressBar(4, "work", display_now=False)
    bar.update(1)
    assert bar.bar.value == 0.25 and bar.label.value.startswith("1 / 4 \u00b7 25% \u00b7 ") and "left" in bar.label.value
    bar.on_training_event(TrainingEvent("step", step=2, losses={"tagger": 1.5}))
    assert bar.bar.value == 0.5 and "loss 1.5" in bar.label.value
    bar.on_training_event(TrainingEvent("end", step=4, message="max_steps"))
    assert bar.bar.value == 1.0 and "took" in bar.label.value and bar.bar.bar_style == "success"


def test_track_and_quiet():
    seen = [x for x in track(["a", "b", "c"], "letters")]
    assert seen == ["a", "b", "c"]
    with quiet() as printed:
        print("init_tok2vec: loaded ...")
    assert printed == ["init_tok2vec: loaded ..."]


def test_bar_follows_pretraining_epochs(tmp_path):
    from tests.helpers.pretrain import pretraining_block, shared_config, write_texts
    from workbench.config import apply_overrides

    texts = write_texts(tmp_path / "texts.jsonl")
    config = apply_overrides(shared_config(pretraining=pretraining_block(max_epochs=3)), {"paths.raw_text": str(texts)})
    bar = ProgressBar(3, "pretraining", unit="epoch", display_now=False)
    seen = []
    pretrain(config, tmp_path / "out", progress=False,
             subscribers=[bar.on_training_event, lambda event: seen.append((event.kind, bar.bar.value, bar.label.value))])
    epochs = [(value, label) for kind, value, label in seen if kind == "epoch"]
    assert [round(value, 3) for value, _ in epochs] == [0.333, 0.667, 1.0]
    assert epochs[0][1].startswith("1 / 3") and "loss" in epochs[0][1]
    assert bar.done_count == 3 and bar.epochs_done == 3 and "took" in bar.label.value
    assert bar.bar.bar_style == "success"
