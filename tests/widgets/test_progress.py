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


def test_a_vectors_import_drives_the_bar_through_reading_and_pruning(tmp_path):
    import numpy

    from workbench.vectors.formats import init_vectors

    rng = numpy.random.default_rng(0)
    path = tmp_path / "v.vec"
    rows = [f"w{i} " + " ".join(f"{x:.4f}" for x in rng.normal(size=8)) for i in range(3000)]
    path.write_text("3000 8\n" + "\n".join(rows) + "\n")
    bar = ProgressBar(1, "vectors import", display_now=False)
    calls = []
    summary = init_vectors("en", path, tmp_path / "out", prune=100,
                           progress=lambda stage, done, total: (bar.on_progress(stage, done, total),
                                                                calls.append((stage, done, total, bar.label.value))))
    assert summary["n_rows"] == 100 and summary["prune"]["remapped"] == 2900
    stages = [stage for stage, *_ in calls]
    assert stages[0] == "read v.vec" and stages[-1] == "prune"  # reading, then pruning, in order
    reading = [(done, total) for stage, done, total, _ in calls if stage == "read v.vec"]
    assert reading[0] == (0, 3000) and reading[-1] == (3000, 3000)
    assert [d for d, _ in reading] == sorted(d for d, _ in reading)  # it only moves forward
    pruning = [(done, total, label) for stage, done, total, label in calls if stage == "prune"]
    assert pruning[0][:2] == (0, pruning[0][1]) and pruning[-1][0] == pruning[-1][1] >= 1
    assert "left" in pruning[1][2] or "took" in pruning[1][2]  # an ETA for the stage running
    assert pruning[-1][2].endswith("\u00b7 prune") and bar.bar.value == 1.0
