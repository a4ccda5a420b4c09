"""Save a folder whole: write it beside its place, then swap it in.

`replace_folder(path, write)` lets `write(tmp)` fill a fresh sibling folder
(`.NAME.saving-PID`), then puts it at `path` in one step: on Linux the two folders
are exchanged atomically (renameat2 RENAME_EXCHANGE), elsewhere the old one is
renamed aside first. So `path` holds the old complete folder or the new complete
one, never a mix, and nothing of the old folder (a component since removed) stays.
A kill while writing leaves the old folder as it was, and a `.saving-PID` sibling
that the next save removes.
"""
import ctypes
import os
import shutil
from pathlib import Path
from typing import Callable, Optional

from ..errors import WorkbenchError

MARKER = "meta.json"  # every saved pipeline has one
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def replace_folder(path: Path, write: Callable[[Path], None], *, marker: str = MARKER) -> None:
    """Fill a sibling folder with `write`, then swap it in at `path`.

    An existing `path` must be a folder that is empty or holds `marker` (a saved
    pipeline): any other folder is refused, since the swap replaces all of it.
    """
    path = Path(path).absolute()
    check_replaceable(path, marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(path)
    tmp = path.parent / f".{path.name}.saving-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        _swap_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the old folder after a swap, or a half-written new one


def check_replaceable(path: Path, marker: str = MARKER) -> None:
    if path.is_file():
        raise WorkbenchError(f"{path} is a file; a pipeline is saved as a folder. Choose a folder path.")
    if path.is_dir() and any(path.iterdir()) and not (path / marker).is_file():
        raise WorkbenchError(
            f"{path} holds files but no saved pipeline (no {marker}). Saving replaces the whole "
            f"folder, so they would be lost: choose a new or empty folder."
        )


def remove_abandoned(path: Path) -> None:
    """Remove `.NAME.saving-PID` siblings of saves whose process is gone (killed mid-save)."""
    for sibling in path.parent.glob(f".{path.name}.saving-*"):
        pid = sibling.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(new: Path, path: Path) -> None:
    """Put `new` at `path`; afterwards `new` holds the old folder (or nothing)."""
    if not path.exists():
        os.rename(new, path)
        return
    if _exchange(new, path):
        return
    aside = path.parent / f".{path.name}.saving-{os.getpid()}-old"
    os.rename(path, aside)
    os.rename(new, path)
    os.rename(aside, new)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux); False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


_RENAMEAT2: Optional[object] = None


def _renameat2():
    global _RENAMEAT2
    if _RENAMEAT2 is None:
        try:
            func = ctypes.CDLL(None, use_errno=True).renameat2
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            func.restype = ctypes.c_int
            _RENAMEAT2 = func
        except (AttributeError, OSError):
            _RENAMEAT2 = False
    return _RENAMEAT2 or None
