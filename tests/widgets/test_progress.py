"""Progress bars for long cells: % and ETA, loops, training events, pretraining epochs, quiet()."""
import json

from widgets.progress import ProgressBar, quiet, track, watch_pretraining
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


def test_watch_pretraining_follows_the_log(tmp_path):
    with watch_pretraining(tmp_path, 3) as bar:
        with (tmp_path / "log.jsonl").open("a") as f:
            f.write(json.dumps({"epoch": 0, "loss": 2.0}) + "\n")
    assert bar.done_count == 3 and "loss 2.0000" in bar.label.value
