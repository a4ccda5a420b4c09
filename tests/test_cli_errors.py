"""The CLI shows a user's mistake as one `Error: ...` line, never a traceback (unless
WORKBENCH_DEBUG=1); `--code` must name a Python file."""
import os
import subprocess
import sys

import pytest

from workbench.cli import main as cli_main


def run(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True, text=True,
                          env=full_env)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, err
    return lines[0]


def test_code_naming_a_folder_or_a_non_python_file(tmp_path, capsys):
    cfg = tmp_path / "c.cfg"
    assert cli_main(["init", "config", str(cfg), "--pipeline", "tagger"]) == 0
    capsys.readouterr()
    notes = tmp_path / "notes.txt"
    notes.write_text("print('hi')\n", encoding="utf8")
    for code, expected in ((tmp_path, "this is a folder"), (notes, "not a Python file"),
                           (tmp_path / "gone.py", "file not found")):
        assert cli_main(["debug", "config", str(cfg), "--code", str(code)]) == 1
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(f"Error: --code {code}: {expected}") and ".py file that registers" in line


def test_code_with_a_syntax_error_or_raising_names_the_line(tmp_path, capsys):
    cfg = tmp_path / "c.cfg"
    assert cli_main(["init", "config", str(cfg), "--pipeline", "tagger"]) == 0
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ndef f(:\n", encoding="utf8")
    raising = tmp_path / "raising.py"
    raising.write_text("import os\n\nraise RuntimeError('no GPU here')\n", encoding="utf8")
    capsys.readouterr()
    assert cli_main(["debug", "config", str(cfg), "--code", str(bad)]) == 1
    assert one_error_line(capsys.readouterr().err).startswith(f"Error: --code {bad}:2: syntax error")
    assert cli_main(["debug", "config", str(cfg), "--code", str(raising)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == f"Error: --code {raising}:3: importing it raised RuntimeError: no GPU here"


def test_an_os_error_on_a_user_path_is_one_line_naming_it(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf8")
    assert cli_main(["init", "config", str(blocker / "sub" / "c.cfg")]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert str(blocker) in line


def test_workbench_debug_shows_the_traceback(tmp_path):
    missing = tmp_path / "nothing.cfg"
    plain = run("train", missing)
    assert plain.returncode == 1
    one_error_line(plain.stderr)
    debug = run("train", missing, env={"WORKBENCH_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == one_error_line(plain.stderr)


@pytest.mark.parametrize("args", [
    ("evaluate", "{tmp}/no_model", "{tmp}/no_data.jsonl"),
    ("apply", "{tmp}", "{tmp}/in.jsonl", "{tmp}/out.jsonl"),
    ("debug", "config", "{tmp}/missing.cfg"),
    ("init", "vectors", "en", "{tmp}/missing.vec", "{tmp}/out"),
    ("convert", "{tmp}/missing.conllu", "-o", "{tmp}/out.jsonl"),
])
def test_common_mistakes_print_no_traceback(tmp_path, capsys, args):
    code = cli_main([a.format(tmp=tmp_path) for a in args])
    assert code == 1
    one_error_line(capsys.readouterr().err)


def test_apply_on_text_that_is_not_utf8_names_the_line(tmp_path, capsys):
    import workbench

    workbench.blank("en").to_disk(tmp_path / "blank")
    data = tmp_path / "in.jsonl"
    data.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    code = cli_main(["apply", str(tmp_path / "blank"), str(data), str(tmp_path / "out.jsonl"), "--no-progress"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1 and line.startswith(f"Error: {data} line 2: not valid UTF-8")
