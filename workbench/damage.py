"""Reading the files of a saved folder: any failure names the file and what is wrong.

The readers of saved files (vocab, tokenizer, vectors table, components, transformer)
read each file inside `reading(file)`, which turns whatever goes wrong (missing, empty,
truncated, garbage) into `DamagedFileError`. `damaged_pipeline(folder)`, used by
`workbench.load`, turns that into the one sentence a user sees:
`<file>: <what is wrong>; the pipeline folder is damaged: re-save or retrain it`.
"""
import contextlib
import json
from pathlib import Path
from typing import Iterator, Union

from .errors import DataError, WorkbenchError

PathLike = Union[str, Path]
_MAX_DETAIL = 160  # characters of a library's own message kept in ours


class DamagedFileError(DataError):
    """A file of a saved folder cannot be read. `file`: its path; `what`: plain words."""

    def __init__(self, file: PathLike, what: str):
        self.file, self.what = Path(file), what
        super().__init__(f"{file}: {what}")


class DamagedPipelineError(WorkbenchError):
    """A saved pipeline folder has a file that cannot be read."""

    def __init__(self, file: PathLike, what: str):
        self.file, self.what = Path(file), what
        super().__init__(f"{file}: {what}; the pipeline folder is damaged: re-save or retrain it")


@contextlib.contextmanager
def reading(file: PathLike) -> Iterator[Path]:
    """Run the block that reads `file`; any error in it becomes DamagedFileError(file)."""
    file = Path(file)
    try:
        yield file
    except DamagedFileError:
        raise
    except Exception as err:
        raise DamagedFileError(file, describe(err, file)) from err


def describe(err: BaseException, file: Path) -> str:
    """What is wrong with `file`, given the error reading it raised."""
    if not file.exists() or (isinstance(err, FileNotFoundError) and not file.is_file()):
        return "the file is missing"
    if file.is_file() and file.stat().st_size == 0:
        return "the file is empty"
    if isinstance(err, json.JSONDecodeError):
        return f"line {err.lineno}: not valid JSON ({err.msg}); the file is truncated or overwritten"
    if isinstance(err, UnicodeDecodeError):
        return f"not valid UTF-8 (byte {err.start}); the file is overwritten with binary data"
    text = str(err).strip()
    for prefix in (f"{file}:", f"{file}"):  # our own messages already start with the path
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    text = text.split("\n")[0]
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL] + "..."
    if isinstance(err, DataError):
        return text.rstrip(".")
    return f"cannot be read ({type(err).__name__}: {text})" if text else f"cannot be read ({type(err).__name__})"


def read_json(file: PathLike, kind: type = dict):
    """The JSON value in `file`, checked to be a `kind` (dict or list)."""
    with reading(file) as path:
        value = json.loads(path.read_text(encoding="utf8"))
    if not isinstance(value, kind):
        raise DamagedFileError(file, f"expected a JSON {'object' if kind is dict else 'list'}, found {type(value).__name__}")
    return value


def require(file: PathLike) -> Path:
    """`file`, or DamagedFileError when it is missing or empty."""
    path = Path(file)
    if not path.is_file() or path.stat().st_size == 0:
        raise DamagedFileError(path, describe(FileNotFoundError(), path))
    return path


CONFIG_END = "# end of config.cfg, as saved by the workbench"


def check_complete_config(file: Path, text: str, marked: bool = False) -> None:
    """DamagedFileError when a saved config is cut short. `marked`: it was saved with
    CONFIG_END as its last line (meta.json says so), which a cut at any byte loses.
    Older saves: the last line must still be a whole value (JSON or a ${...} reference)."""
    lines = [line for line in text.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    if marked:
        if last != CONFIG_END:
            raise DamagedFileError(file, f"line {len(text.splitlines())}: the file ends before its closing line "
                                         f"{CONFIG_END!r}; it is truncated")
        return
    if not last or (last.startswith("[") and last.endswith("]")):
        return
    key, sep, value = last.partition("=")
    value = value.strip()
    if sep and (value.startswith("${") and value.endswith("}") and value.count("${") == 1):
        return
    try:
        json.loads(value)
    except ValueError:
        raise DamagedFileError(file, f"line {len(text.splitlines())}: the last line is cut off ({last[:60]!r}); "
                                     f"the file is truncated") from None


@contextlib.contextmanager
def damaged_pipeline(folder: PathLike) -> Iterator[None]:
    """Loading the saved pipeline `folder`: a DamagedFileError becomes DamagedPipelineError."""
    try:
        yield
    except DamagedFileError as err:
        raise DamagedPipelineError(err.file, err.what) from err
