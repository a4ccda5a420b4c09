"""`python -m workbench.demo`: runs on the sample data, and says what it needs without it."""
from workbench import demo


def test_demo_without_sample_data_says_what_it_needs(tmp_path, capsys):
    assert demo.main(["--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "train.jsonl" in err and "--data DIR" in err and "checkout" in err


def test_demo_trains_and_scores_the_sample_pipeline(tmp_path, capsys):
    assert demo.main(["--output", str(tmp_path / "demo"), "--max-epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Scores of model-best" in out and "entities:" in out
    assert (tmp_path / "demo" / "model-best" / "config.cfg").is_file()
