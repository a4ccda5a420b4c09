"""Damaged vectors files: NaN / inf values name their line, a header that announces more
rows than the file can hold is refused before anything is allocated, a wrong width names
its line; in every format that has lines (and by row and word in those that do not)."""
import gzip
import struct
import tracemalloc

import numpy
import pytest

from workbench.cli import main as cli_main
from workbench.errors import DataError
from workbench.vectors.formats import read_vectors


def read(path, **kwargs):
    return read_vectors(path, progress=False, **kwargs)


def lines_with(bad_line: int, bad_value: str, n: int = 6000, width: int = 3, header: bool = True):
    lines = [f"w{i} " + " ".join(["0.5"] * width) for i in range(n)]
    lines[bad_line - 1 - header] = f"bad 0.5 {bad_value} 0.5"
    return ([f"{n} {width}"] if header else []) + lines


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e39"])
@pytest.mark.parametrize("suffix", [".vec", ".txt", ".vec.gz"])
def test_nan_and_inf_are_refused_naming_the_line(tmp_path, value, suffix):
    header = suffix != ".txt"
    text = "\n".join(lines_with(4999, value, header=header)) + "\n"  # in the second parsing chunk
    path = tmp_path / f"v{suffix}"
    path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    with pytest.raises(DataError, match=rf"v{suffix}:4999: the vector holds (NaN|-?inf) at value 2; vectors must be finite"):
        read(path)


def test_nan_in_the_first_line_of_a_small_file(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("the nan 1\ncat 1 2\n", encoding="utf8")
    with pytest.raises(DataError, match=r"g.txt:1: the vector holds NaN at value 1"):
        read(path)


def word2vec_bytes(rows, width):
    out = [f"{len(rows)} {width}\n".encode()]
    for word, vec in rows:
        out.append(word.encode() + b" " + struct.pack(f"<{width}f", *vec) + b"\n")
    return b"".join(out)


def test_nan_in_word2vec_binary_names_the_vector(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(word2vec_bytes([("a", [1, 2]), ("b", [float("inf"), 0]), ("c", [0, 0])], 2))
    with pytest.raises(DataError, match=r"w.bin: vector 2 \(word 'b'\) holds inf at value 1"):
        read(path)


def test_nan_in_a_npy_parquet_folder_names_row_and_word(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "f"
    folder.mkdir()
    matrix = numpy.ones((3, 2), dtype="float32")
    matrix[2, 1] = numpy.nan
    numpy.save(folder / "m.npy", matrix)
    pq.write_table(pa.table({"word": ["a", "b", "c"]}), folder / "w.parquet")
    with pytest.raises(DataError, match=r"row 3 \(word 'c'\) holds NaN at value 2"):
        read(folder)


@pytest.mark.parametrize("kind", ["vec", "vec.gz", "bin"])
def test_a_header_that_cannot_fit_is_refused_before_allocating(tmp_path, kind):
    """The header asks for 10^10 x 3000 floats (109 TiB): refused from the file size, and
    nothing near that is ever allocated."""
    header = b"10000000000 3000\n"
    if kind == "bin":
        body = header + b"a " + struct.pack("<3000f", *([0.0] * 3000))
    else:
        body = header + b"a " + b" ".join([b"0.5"] * 3000) + b"\n"
    path = tmp_path / f"big.{kind}"
    path.write_bytes(gzip.compress(body) if kind.endswith("gz") else body)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"big\.\S+:1: the header announces 10,000,000,000 vectors of width 3,000, "
                                            r"but the file .* can hold at most"):
            read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # bytes: the 64 KiB detection sample, not the matrix


def test_a_header_slightly_too_large_still_reads_with_truncate(tmp_path):
    """`head -n` of a big file keeps the big header: --truncate N reads the N rows kept."""
    path = tmp_path / "head.vec"
    path.write_text("1000000 2\na 1 2\nb 3 4\n", encoding="utf8")
    with pytest.raises(DataError, match="can hold at most"):
        read(path)
    vectors, _ = read(path, truncate=2)
    assert vectors.shape == (2, 2)


def test_cli_reports_the_line_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "v.vec"
    path.write_text("2 2\na 1 2\nb inf 4\n", encoding="utf8")
    code = cli_main(["init", "vectors", "en", str(path), str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"Error: {path}:3: the vector holds inf at value 1")


def test_a_wrong_width_names_the_line_in_a_gzipped_file(tmp_path):
    lines = [f"w{i} 1 2 3" for i in range(5000)]
    lines[4400] = "odd 1 2 3 4 5"
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(DataError, match=r"g.txt.gz:4401: expected 3 values after the word 'odd', found 5"):
        read(path)
