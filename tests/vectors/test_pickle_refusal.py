"""Nothing the workbench reads runs code: a pickle whose __reduce__ would create a marker
file is refused under every suffix, by `read_vectors` and by `init vectors`, unless the
caller opts in with allow_pickle=True / --allow-pickle."""
import gzip
import pickle
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from workbench.cli import main as cli_main
from workbench.errors import ConfigError, DataError
from workbench.vectors.formats import read_vectors

SUFFIXES = [".kv", ".vec", ".txt", ".bin", ".npy", ".model", "", ".gz", ".vec.gz", ".pkl"]


class Payload:
    """Unpickling this creates `marker` (what a hostile pickle would do, harmlessly)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_payload(path: Path, marker: Path, *, compress: bool = False, protocol: int = pickle.DEFAULT_PROTOCOL) -> Path:
    data = pickle.dumps(Payload(marker), protocol=protocol)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_the_payload_is_live(tmp_path):
    """Guards the tests below: unpickling the payload does create the marker."""
    marker = tmp_path / "ran"
    pickle.loads(write_payload(tmp_path / "p", marker).read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzipped"])
def test_payload_pickle_never_runs_in_python(tmp_path, suffix, compress):
    marker = tmp_path / "ran"
    path = write_payload(tmp_path / f"vectors{suffix}", marker, compress=compress)
    with pytest.raises(DataError) as err:
        read_vectors(path, progress=False)
    assert str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_old_pickle_protocols_never_run(tmp_path, protocol):
    """Protocols 0 and 1 have no PROTO byte: they are read as (bad) text, never unpickled."""
    marker = tmp_path / "ran"
    for suffix in (".vec", ".txt", ".bin", ""):
        path = write_payload(tmp_path / f"v{protocol}{suffix}", marker, protocol=protocol)
        with pytest.raises(DataError):
            read_vectors(path, progress=False)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_payload_pickle_never_runs_via_the_cli(tmp_path, capsys, suffix):
    marker = tmp_path / "ran"
    path = write_payload(tmp_path / f"vectors{suffix}", marker)
    code = cli_main(["init", "vectors", "en", str(path), str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"Error: {path}: ") and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_refusal_says_what_why_and_how(tmp_path):
    path = write_payload(tmp_path / "wiki.kv", tmp_path / "ran")
    with pytest.raises(DataError) as err:
        read_vectors(path, progress=False)
    message = str(err.value)
    assert "Python pickle" in message and "Gensim" in message  # what the file is
    assert "runs whatever code" in message  # why it is refused
    assert "save_word2vec_format('wiki.vec')" in message and "--allow-pickle" in message  # how to proceed


def test_payload_in_a_npy_parquet_folder_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    marker = tmp_path / "ran"
    folder = tmp_path / "glove"
    folder.mkdir()
    write_payload(folder / "vectors.npy", marker)
    pq.write_table(pa.table({"word": ["a", "b"]}), folder / "words.parquet")
    with pytest.raises(DataError, match="vectors.npy: not a plain numpy array file"):
        read_vectors(folder, progress=False)
    assert not marker.exists()


def test_cli_subprocess_refuses_and_allow_pickle_opts_in(tmp_path):
    """The real command: refused with one line; --allow-pickle reads the file (and so would
    run the payload: proof that the opt-in is the only way in)."""
    marker = tmp_path / "ran"
    path = write_payload(tmp_path / "vectors.vec", marker)
    cmd = [sys.executable, "-m", "workbench", "init", "vectors", "en", str(path), str(tmp_path / "out"), "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "pickle" in res.stderr and "--allow-pickle" in res.stderr
    assert not marker.exists()
    res = subprocess.run(cmd + ["--allow-pickle"], capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert marker.exists()  # the user trusted the file: it was unpickled


def test_allow_pickle_reads_real_gensim_keyed_vectors(tmp_path):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(vector_size=3)
    kv.add_vectors(["a", "b"], numpy.array([[1, 2, 3], [4, 5, 6]], dtype="float32"))
    path = tmp_path / "small.kv"
    kv.save(str(path))
    vectors, info = read_vectors(path, progress=False, allow_pickle=True)
    assert info["format"] == "gensim_kv" and vectors.shape == (2, 3)
    numpy.testing.assert_array_equal(vectors["b"], [4, 5, 6])


def test_transformer_config_is_an_allowlist(tmp_path):
    from tests.helpers.trf import save_tiny_bert
    from workbench.models.transformer.hf_loading import check_transformer_config, load_hf

    path = save_tiny_bert(tmp_path / "bert")
    ok = {"hidden_dropout_prob": 0.3, "attn_implementation": "eager"}
    assert check_transformer_config(ok, path) == ok
    for key in ("trust_remote_code", "use_safetensors", "from_tf", "cache_dir", "revision", "device_map", "token"):
        with pytest.raises(ConfigError, match=f"'{key}' is not allowed"):
            check_transformer_config({key: True}, path)
        with pytest.raises(ConfigError, match=f"'{key}' is not allowed"):
            check_transformer_config({key: True}, None)  # refused before the model is found, too
    with pytest.raises(ConfigError, match="'hidden_dropout_prb' is not allowed. Did you mean 'hidden_dropout_prob'"):
        load_hf(path, None, {"hidden_dropout_prb": 0.1})
    _, module = load_hf(path, None, {"hidden_dropout_prob": 0.3})
    assert module.config.hidden_dropout_prob == 0.3


def test_pickled_transformer_weights_are_never_loaded(tmp_path):
    """A model folder with a pickled pytorch_model.bin instead of safetensors: refused,
    the payload never runs (weights are read from safetensors only)."""
    import shutil

    from tests.helpers.trf import save_tiny_bert
    from workbench.models.transformer.hf_loading import load_hf

    folder = tmp_path / "bert"
    shutil.copytree(save_tiny_bert(tmp_path / "src"), folder)
    for file in folder.glob("*.safetensors"):
        file.unlink()
    marker = tmp_path / "ran"
    write_payload(folder / "pytorch_model.bin", marker)
    with pytest.raises(ConfigError, match="Could not load the transformer weights"):
        load_hf(folder)
    assert not marker.exists()
