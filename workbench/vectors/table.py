"""Static word vectors: a table from string keys (uint64 hashes) to rows of a float32 matrix.

Many keys may share one row (a pruned table maps the words it dropped to their
nearest kept row). Lookups go through two arrays sorted by key, so finding the
rows of a whole batch of keys is one `numpy.searchsorted` call.

Saved as a folder of plain numpy files (never pickle): `vectors.npy` (n_rows,
width) float32, `keys.npy` uint64 and `rows.npy` int64 (one entry per key, in
insertion order), `vectors.json` (width, n_rows, n_keys, mode, name) and,
optionally, `strings.json` (the words of the keys).
"""
import json
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence, Tuple, Union

import numpy

from ..damage import DamagedFileError, read_json, reading, require
from ..errors import ConfigError, DataError, ShapeError
from ..text.strings import StringStore, hash_string

FORMAT_VERSION = 1
MODES = ("default",)
# Largest score block (queries x rows) that most_similar / prune hold at once: 32M floats = 128 MB.
_SCORE_BUDGET = 1 << 25

KeyOrWord = Union[int, str]

HOW_TO_ADD = (
    "Create a table with `python -m workbench init vectors en VECTORS_FILE OUTDIR` and point "
    "`[initialize] vectors = \"OUTDIR\"` at it (or set `nlp.vocab.vectors` yourself)."
)


class VectorsWarning(UserWarning):
    """A vector operation had to fall back (e.g. similarity of a text without a vector)."""


class Vectors:
    """Key -> row table over a float32 matrix `data` (n_rows, width)."""

    def __init__(
        self,
        *,
        strings: Optional[StringStore] = None,
        data: Optional[numpy.ndarray] = None,
        keys: Optional[Iterable[KeyOrWord]] = None,
        rows: Optional[Iterable[int]] = None,
        shape: Optional[Tuple[int, int]] = None,
        name: str = "",
        mode: str = "default",
    ):
        """data: (n_rows, width) matrix, or `shape` for a zero matrix. keys: words or
        hashes (words are added to `strings`); rows: each key's row (default 0..n_keys-1)."""
        if mode not in MODES:
            raise ConfigError(f"Vectors: mode {mode!r} is not supported; use one of {list(MODES)}.")
        if data is None:
            data = numpy.zeros(shape or (0, 0), dtype=numpy.float32)
        data = numpy.ascontiguousarray(data, dtype=numpy.float32)
        if data.ndim != 2:
            raise ShapeError(f"Vectors: data must be a 2d (n_rows, width) array, got shape {data.shape}.")
        self.strings = strings
        self.name = name
        self.mode = mode
        self._data = data
        self._keys = numpy.zeros((0,), dtype=numpy.uint64)  # insertion order
        self._rows = numpy.zeros((0,), dtype=numpy.int64)
        self._pending: Dict[int, int] = {}
        self._index: Optional[Tuple[numpy.ndarray, numpy.ndarray]] = None
        self._row_keys: Optional[numpy.ndarray] = None
        if keys is not None:
            key_arr = self._keys_array(keys, add=True)
            if rows is None:
                if len(key_arr) > data.shape[0]:
                    raise ShapeError(
                        f"Vectors: {len(key_arr)} keys but only {data.shape[0]} rows; pass `rows=` "
                        f"to map several keys to one row."
                    )
                row_arr = numpy.arange(len(key_arr), dtype=numpy.int64)
            else:
                row_arr = numpy.asarray(list(rows) if not hasattr(rows, "__len__") else rows, dtype=numpy.int64)
            self._set_mapping(key_arr, row_arr)

    # ------------------------------------------------------------ basics

    @property
    def data(self) -> numpy.ndarray:
        """The (n_rows, width) float32 matrix. Change it with `add` / `vectors[key] = v`."""
        return self._data

    @property
    def shape(self) -> Tuple[int, int]:
        return tuple(self._data.shape)  # type: ignore[return-value]

    @property
    def width(self) -> int:
        return self._data.shape[1]

    @property
    def n_rows(self) -> int:
        return self._data.shape[0]

    @property
    def n_keys(self) -> int:
        self._merge_pending()
        return len(self._keys)

    @property
    def is_empty(self) -> bool:
        return self.n_keys == 0

    def __len__(self) -> int:
        """Number of rows (not keys: a pruned table has more keys than rows)."""
        return self._data.shape[0]

    def __bool__(self) -> bool:
        return True  # an empty table is still a table; test `.is_empty` instead

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Vectors(shape={self.shape}, n_keys={self.n_keys}{name})"

    def key(self, key_or_word: KeyOrWord) -> int:
        """The uint64 key of a word (its string hash) or the key itself."""
        if isinstance(key_or_word, str):
            return hash_string(key_or_word)
        return int(key_or_word)

    def keys(self) -> numpy.ndarray:
        """uint64 (n_keys,) in insertion order."""
        self._merge_pending()
        return self._keys.copy()

    def rows(self) -> numpy.ndarray:
        """int64 (n_keys,): the row of each key of `keys()`."""
        self._merge_pending()
        return self._rows.copy()

    def __iter__(self) -> Iterator[int]:
        return iter(int(k) for k in self.keys())

    def __contains__(self, key_or_word: Any) -> bool:
        if not isinstance(key_or_word, (str, int, numpy.integer)):
            return False
        return self.find(key=key_or_word) >= 0

    def __getitem__(self, key_or_word: KeyOrWord) -> numpy.ndarray:
        """A copy of the key's row, (width,). KeyError if the key has no vector."""
        row = self.find(key=key_or_word)
        if row < 0:
            raise KeyError(
                f"No vector for {key_or_word!r} in this table ({self.n_keys} keys). Check "
                f"`key in vectors` first, or use `find(keys=...)`, which gives -1 for missing keys."
            )
        return self._data[row].copy()

    def __setitem__(self, key_or_word: KeyOrWord, vector: Sequence[float]) -> None:
        self.add(key_or_word, vector=vector)

    # ------------------------------------------------------------ lookups

    def find(
        self, *, keys: Optional[Iterable[KeyOrWord]] = None, key: Optional[KeyOrWord] = None
    ) -> Union[int, numpy.ndarray]:
        """Rows of `keys` (int64 array, -1 where missing), or of one `key` (an int)."""
        if key is not None:
            return int(self._lookup(numpy.asarray([self.key(key)], dtype=numpy.uint64))[0])
        if keys is None:
            raise ValueError("Vectors.find: pass keys=[...] or key=...")
        return self._lookup(self._keys_array(keys, add=False))

    def find_first(self, key_matrix: numpy.ndarray) -> numpy.ndarray:
        """For each row of `key_matrix` (n, k) uint64, the row of its first key that has a
        vector (e.g. columns ORTH, LOWER, NORM as a fallback order); -1 if none. (n,)"""
        key_matrix = numpy.asarray(key_matrix, dtype=numpy.uint64)
        if key_matrix.ndim == 1:
            key_matrix = key_matrix[:, None]
        found = self._lookup(key_matrix.ravel()).reshape(key_matrix.shape)  # (n, k)
        out = found[:, 0].copy()
        for col in range(1, found.shape[1]):
            missing = out < 0
            if not missing.any():
                break
            out[missing] = found[missing, col]
        return out

    def get_batch(self, rows: Iterable[int]) -> numpy.ndarray:
        """(n, width) float32 copy of `rows`; row -1 gives zeros."""
        rows = numpy.asarray(rows, dtype=numpy.int64)
        out = self._data[numpy.maximum(rows, 0)] if len(self._data) else numpy.zeros(
            (len(rows), self.width), dtype=numpy.float32
        )
        missing = rows < 0
        if missing.any():
            out[missing] = 0.0
        return out

    def row_keys(self) -> numpy.ndarray:
        """uint64 (n_rows,): the first key (insertion order) of each row; 0 for rows without keys."""
        self._merge_pending()
        if self._row_keys is None:
            row_keys = numpy.zeros((self.n_rows,), dtype=numpy.uint64)
            uniq, first = numpy.unique(self._rows, return_index=True)
            row_keys[uniq] = self._keys[first]
            self._row_keys = row_keys
        return self._row_keys

    # ------------------------------------------------------------ changes

    def add(
        self, key_or_word: KeyOrWord, *, vector: Optional[Sequence[float]] = None, row: Optional[int] = None
    ) -> int:
        """Map a key to an existing `row`, or store `vector` for it and return its row.

        A key that owns its row alone gets the row overwritten; otherwise a new row is
        appended (a row that other keys share is never changed). Words (str) are added
        to `strings`. One call copies the matrix when it grows: build big tables with
        `Vectors(data=..., keys=...)` instead.
        """
        key = int(self._keys_array([key_or_word], add=True)[0])
        if vector is not None:
            vector = numpy.asarray(vector, dtype=numpy.float32).ravel()
            if self.n_rows == 0 and self.width == 0:
                self._data = numpy.zeros((0, vector.shape[0]), dtype=numpy.float32)
            if vector.shape[0] != self.width:
                raise ShapeError(
                    f"Vectors.add({key_or_word!r}): vector has width {vector.shape[0]}, the table {self.width}."
                )
        if row is not None:
            row = int(row)
            if not 0 <= row < self.n_rows:
                raise IndexError(f"Vectors.add({key_or_word!r}): row {row} is outside 0..{self.n_rows - 1}.")
            if vector is not None:
                self._data[row] = vector
        else:
            existing = self._pending.get(key)
            if existing is None:
                pos = int(self._lookup_positions(numpy.asarray([key], dtype=numpy.uint64))[0])
                existing = int(self._rows[pos]) if pos >= 0 else -1
            if vector is None:
                if existing >= 0:
                    return existing
                raise ValueError(f"Vectors.add({key_or_word!r}): the key is new; give vector= or row=.")
            shared = int((self._rows == existing).sum()) + sum(r == existing for r in self._pending.values())
            if existing >= 0 and shared <= 1:
                row = existing
                self._data[row] = vector
            else:
                row = self.n_rows
                self._data = numpy.concatenate([self._data, vector[None, :]], axis=0)
        self._pending[key] = row
        self._row_keys = None
        return row

    def prune(self, n_rows: int, *, batch_size: int = 0, progress: bool = False) -> Dict[str, Any]:
        """Keep the first `n_rows` rows (the most frequent words, in file order) and map
        every key of a dropped row to its nearest kept row by cosine similarity.

        Returns a coverage report: n_keys, kept (keys whose own vector stays),
        remapped, mean_similarity / min_similarity of the remapped keys to their new row.
        """
        if not isinstance(n_rows, int) or n_rows < 1:
            raise ConfigError(f"Vectors.prune: n_rows must be an integer >= 1, got {n_rows!r}.")
        self._merge_pending()
        n_keys = len(self._keys)
        report = {"n_keys": n_keys, "n_rows_before": self.n_rows, "n_rows": min(n_rows, self.n_rows)}
        if n_rows >= self.n_rows:
            report.update(kept=n_keys, remapped=0, mean_similarity=None, min_similarity=None)
            return report
        kept = _normalize(self._data[:n_rows])  # (n_rows, width)
        dropped = self._data[n_rows:]  # (n_dropped, width)
        new_row = numpy.empty((len(dropped),), dtype=numpy.int64)
        score = numpy.empty((len(dropped),), dtype=numpy.float32)
        step = batch_size or max(1, min(2048, _SCORE_BUDGET // n_rows))
        buffer = numpy.empty((min(step, len(dropped)), n_rows), dtype=numpy.float32)
        starts = range(0, len(dropped), step)
        for start in progress_iter(starts, progress, "prune", unit="batch"):
            block = _normalize(dropped[start : start + step])
            sims = buffer[: len(block)]
            numpy.matmul(block, kept.T, out=sims)  # (batch, n_rows)
            best = sims.argmax(axis=1)
            new_row[start : start + step] = best
            score[start : start + step] = sims[numpy.arange(len(best)), best]
        moved = self._rows >= n_rows
        moved_scores = score[self._rows[moved] - n_rows]
        self._rows[moved] = new_row[self._rows[moved] - n_rows]
        self._data = numpy.ascontiguousarray(self._data[:n_rows])
        self._index = None
        self._row_keys = None
        report.update(
            kept=int(n_keys - moved.sum()),
            remapped=int(moved.sum()),
            mean_similarity=float(moved_scores.mean()) if len(moved_scores) else None,
            min_similarity=float(moved_scores.min()) if len(moved_scores) else None,
        )
        return report

    def link_strings(self, strings: StringStore) -> None:
        """Use `strings` (a vocab's) for this table, copying in the words it knew."""
        if self.strings is strings:
            return
        if self.strings is not None:
            for s in self.strings:
                strings.add(s)
        self.strings = strings

    # ------------------------------------------------------------ similarity

    def most_similar(
        self, queries: numpy.ndarray, *, n: int = 10, batch_size: int = 1024
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """The `n` rows nearest each query by cosine similarity.

        queries: (n_queries, width). Returns (keys uint64, rows int64, scores float32),
        each (n_queries, n), best first; keys are each row's first key (`row_keys`).
        Rows without any key are never returned.
        """
        queries = numpy.asarray(queries, dtype=numpy.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.width:
            raise ShapeError(
                f"most_similar: queries must be (n_queries, {self.width}), got shape {queries.shape}."
            )
        if self.n_keys == 0:
            raise DataError(f"most_similar: the vectors table is empty. {HOW_TO_ADD}")
        table = _normalize(self._data)  # (n_rows, width)
        row_keys = self.row_keys()
        keyless = numpy.flatnonzero(numpy.bincount(self._rows, minlength=self.n_rows) == 0)
        n = max(1, min(int(n), self.n_rows - len(keyless)))
        step = max(1, min(int(batch_size), _SCORE_BUDGET // max(1, self.n_rows)))
        out_rows = numpy.empty((len(queries), n), dtype=numpy.int64)
        out_scores = numpy.empty((len(queries), n), dtype=numpy.float32)
        buffer = numpy.empty((min(step, len(queries)), self.n_rows), dtype=numpy.float32)
        for start in range(0, len(queries), step):
            sims = buffer[: len(queries[start : start + step])]
            numpy.matmul(_normalize(queries[start : start + step]), table.T, out=sims)  # (batch, n_rows)
            if len(keyless):
                sims[:, keyless] = -numpy.inf
            top, top_scores = _top_n(sims, n)
            out_rows[start : start + step] = top
            out_scores[start : start + step] = top_scores
        return row_keys[out_rows], out_rows, out_scores

    # ------------------------------------------------------------ saving

    def to_disk(self, path: Union[str, Path], *, strings: bool = True) -> None:
        """Write the folder `path` (numpy .npy files and JSON, no pickle). strings=True also
        writes `strings.json` with the words of the keys (when this table knows them)."""
        self._merge_pending()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        numpy.save(path / "vectors.npy", self._data, allow_pickle=False)
        numpy.save(path / "keys.npy", self._keys, allow_pickle=False)
        numpy.save(path / "rows.npy", self._rows, allow_pickle=False)
        meta = {
            "format": FORMAT_VERSION, "width": self.width, "n_rows": self.n_rows,
            "n_keys": len(self._keys), "mode": self.mode, "name": self.name,
        }
        (path / "vectors.json").write_text(json.dumps(meta, indent=2), encoding="utf8")
        if strings and self.strings is not None:
            all_words = self.strings.to_list()
            hashes = numpy.fromiter((self.strings[w] for w in all_words), dtype=numpy.uint64, count=len(all_words))
            has = self._lookup(hashes) >= 0
            words = [w for w, h in zip(all_words, has) if h]
            (path / "strings.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf8")

    def from_disk(self, path: Union[str, Path]) -> "Vectors":
        """Replace this table's contents with the folder written by `to_disk`; returns self."""
        path = Path(path)
        meta_file = path / "vectors.json"
        if not meta_file.exists() and not any(path.glob("*.npy")):
            raise DataError(f"No vectors table at {path}: expected vectors.json written by Vectors.to_disk.")
        meta = read_json(meta_file, dict)
        data = _load_npy(path / "vectors.npy", numpy.float32, 2)
        keys = _load_npy(path / "keys.npy", numpy.uint64, 1)
        rows = _load_npy(path / "rows.npy", numpy.int64, 1)
        if len(keys) != len(rows):
            raise DamagedFileError(path / "rows.npy", f"{len(rows)} entries but keys.npy has {len(keys)}")
        if len(rows) and (rows.min() < 0 or rows.max() >= data.shape[0]):
            raise DamagedFileError(path / "rows.npy", f"points outside the {data.shape[0]} rows of vectors.npy")
        for field, value in (("width", data.shape[1]), ("n_rows", data.shape[0]), ("n_keys", len(keys))):
            if field in meta and meta[field] != value:
                raise DamagedFileError(meta_file, f"{field} = {meta[field]} but the .npy files hold {value}")
        mode = meta.get("mode", "default")
        if mode not in MODES:
            raise DamagedFileError(meta_file, f"mode {mode!r} is not supported (use one of {list(MODES)})")
        self._data = numpy.ascontiguousarray(data)
        self.mode = mode
        self.name = meta.get("name", "")
        self._keys, self._rows = keys.copy(), rows.copy()
        self._pending = {}
        self._index = None
        self._row_keys = None
        strings_file = path / "strings.json"
        if strings_file.exists():
            words = read_json(strings_file, list)
            if not all(isinstance(w, str) for w in words):
                raise DamagedFileError(strings_file, "expected a JSON list of strings")
            if self.strings is None:
                self.strings = StringStore()
            for w in words:
                self.strings.add(w)
        return self

    @classmethod
    def load(cls, path: Union[str, Path], strings: Optional[StringStore] = None) -> "Vectors":
        return cls(strings=strings).from_disk(path)

    # ------------------------------------------------------------ internals

    def _keys_array(self, keys: Iterable[KeyOrWord], *, add: bool) -> numpy.ndarray:
        if isinstance(keys, numpy.ndarray) and keys.dtype.kind in "ui":
            return keys.astype(numpy.uint64, copy=False).ravel()
        out = []
        strings = self.strings
        for k in keys:
            if isinstance(k, str):
                if add and strings is None:
                    strings = self.strings = StringStore()
                out.append(strings.add(k) if add else hash_string(k))
            else:
                out.append(int(k))
        return numpy.asarray(out, dtype=numpy.uint64)

    def _set_mapping(self, keys: numpy.ndarray, rows: numpy.ndarray) -> None:
        if keys.shape != rows.shape:
            raise ShapeError(f"Vectors: {len(keys)} keys but {len(rows)} rows.")
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise ShapeError(f"Vectors: rows must lie in 0..{self.n_rows - 1}.")
        uniq, first = numpy.unique(keys, return_index=True)
        if len(uniq) != len(keys):
            first.sort()
            keys, rows = keys[first], rows[first]  # keep each key's first mapping
        self._keys, self._rows = keys, rows
        self._pending = {}
        self._index = None
        self._row_keys = None

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        new_keys = numpy.fromiter(self._pending.keys(), dtype=numpy.uint64, count=len(self._pending))
        new_rows = numpy.fromiter(self._pending.values(), dtype=numpy.int64, count=len(self._pending))
        self._pending = {}
        existing = self._lookup_positions(new_keys)
        known = existing >= 0
        self._rows[existing[known]] = new_rows[known]
        self._keys = numpy.concatenate([self._keys, new_keys[~known]])
        self._rows = numpy.concatenate([self._rows, new_rows[~known]])
        self._index = None
        self._row_keys = None

    def _sorted(self) -> Tuple[numpy.ndarray, numpy.ndarray]:
        if self._index is None:
            order = numpy.argsort(self._keys, kind="stable")
            self._index = (self._keys[order], order)
        return self._index

    def _lookup_positions(self, keys: numpy.ndarray) -> numpy.ndarray:
        """Positions in `_keys` of `keys` (int64, -1 where missing)."""
        sorted_keys, order = self._sorted()
        if not len(sorted_keys):
            return numpy.full(keys.shape, -1, dtype=numpy.int64)
        pos = numpy.searchsorted(sorted_keys, keys)
        pos = numpy.minimum(pos, len(sorted_keys) - 1)
        hit = sorted_keys[pos] == keys
        return numpy.where(hit, order[pos], -1).astype(numpy.int64)

    def _lookup(self, keys: numpy.ndarray) -> numpy.ndarray:
        self._merge_pending()
        pos = self._lookup_positions(keys)
        return numpy.where(pos >= 0, self._rows[numpy.maximum(pos, 0)] if len(self._rows) else -1, -1)


def _top_n(sims: numpy.ndarray, n: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The n best columns of each row of `sims` (batch, n_cols), best first: (rows, scores).

    Exact, without sorting whole rows: the n-th largest of the block maxima (blocks of
    `size` columns) is a lower bound of each row's n-th best score, so only the few
    columns at or above it are sorted.
    """
    batch, n_cols = sims.shape
    size = min(1024, n_cols // (4 * n))
    if size < 16:  # small table: partition whole rows
        cut = n_cols - n
        top = numpy.argpartition(sims, cut, axis=1)[:, cut:] if cut > 0 else numpy.tile(
            numpy.arange(n_cols), (batch, 1)
        )
        scores = numpy.take_along_axis(sims, top, axis=1)
        order = numpy.argsort(-scores, axis=1, kind="stable")
        return numpy.take_along_axis(top, order, axis=1), numpy.take_along_axis(scores, order, axis=1)
    n_full = n_cols // size
    block_max = sims[:, : n_full * size].reshape(batch, n_full, size).max(axis=2)  # (batch, n_blocks)
    if n_cols % size:
        block_max = numpy.concatenate([block_max, sims[:, n_full * size :].max(axis=1, keepdims=True)], axis=1)
    cut = block_max.shape[1] - n
    threshold = numpy.partition(block_max, cut, axis=1)[:, cut]  # (batch,)
    flat = numpy.flatnonzero(sims >= threshold[:, None])  # candidates, row-major
    row, col = numpy.divmod(flat, n_cols)
    score = sims.ravel()[flat]
    order = numpy.lexsort((col, -score, row))  # by row, then best score, then column
    row, col, score = row[order], col[order], score[order]
    rank = numpy.arange(len(row)) - numpy.searchsorted(row, numpy.arange(batch))[row]
    keep = rank < n
    top = numpy.empty((batch, n), dtype=numpy.int64)
    top_scores = numpy.empty((batch, n), dtype=numpy.float32)
    top[row[keep], rank[keep]] = col[keep]
    top_scores[row[keep], rank[keep]] = score[keep]
    return top, top_scores


def _normalize(X: numpy.ndarray) -> numpy.ndarray:
    """Rows scaled to unit length (zero rows stay zero). (n, width) float32."""
    norms = numpy.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (X / norms).astype(numpy.float32, copy=False)


def _load_npy(file: Path, dtype, ndim: int) -> numpy.ndarray:
    """The plain (never pickled) array in `file`, checked for `ndim` and `dtype`'s kind."""
    with reading(require(file)):
        with file.open("rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise DamagedFileError(file, "not a .npy array file (no .npy header)")
        try:
            arr = numpy.load(file, allow_pickle=False)
        except ValueError as err:
            raise DamagedFileError(file, f"not a plain numpy array file ({err})") from None
    if arr.ndim != ndim:
        raise DamagedFileError(file, f"expected a {ndim}d array, got shape {arr.shape}")
    if arr.dtype != dtype:
        if arr.size and arr.dtype.kind != numpy.dtype(dtype).kind:
            raise DamagedFileError(file, f"expected dtype {numpy.dtype(dtype).name}, got {arr.dtype.name}")
        arr = arr.astype(dtype)
    return arr


class _Reported:
    """A tqdm-like counter that calls `report(stage, done, total)` (a notebook's progress bar)."""

    def __init__(self, report, desc: str, total: int):
        self.report, self.desc, self.total, self.done = report, desc, total, 0
        report(desc, 0, total)

    def update(self, n: int = 1) -> None:
        self.done += n
        self.report(self.desc, self.done, self.total)

    def close(self) -> None:
        self.report(self.desc, self.total, self.total)


def progress_counter(progress, desc: str, total: int, **kwargs):
    """What long steps count their work on: None (progress False), a tqdm bar on stderr (True),
    or, for a callable `progress(stage, done, total)`, a counter that calls it."""
    if callable(progress):
        return _Reported(progress, desc, total)
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, **kwargs)


def progress_iter(iterable, progress, desc: str, total: Optional[int] = None, **kwargs):
    """`iterable`, counted on `progress_counter` as its items go."""
    if not progress:
        return iterable
    items = iterable if total is not None else list(iterable)
    counter = progress_counter(progress, desc, total if total is not None else len(items), **kwargs)

    def counted():
        for item in items:
            yield item
            counter.update(1)
        counter.close()

    return counted()


def warn_no_vector(obj: Any, reason: str) -> None:
    warnings.warn(
        f"{type(obj).__name__} {str(obj)[:60]!r} has no word vector ({reason}); similarity() "
        f"returns 0.0 for it.",
        VectorsWarning,
        stacklevel=3,
    )
