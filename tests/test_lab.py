"""`make lab` (workbench.lab): a real JupyterLab on a free loopback port, and a clear error on a taken one."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jupyterlab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(tmp_path):
    return {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_LAB_TOKEN": "testtoken123",
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
            "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
            "PYTHONUNBUFFERED": "1"}


def test_lab_prints_the_real_url_and_opens_on_the_first_tutorial(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "workbench.lab", "--port", str(port)], cwd=tmp_path,
                            env=lab_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        deadline = time.time() + 120
        while time.time() < deadline and url is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            if "JupyterLab on the tutorials" in line:
                url = line.split(": ", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}/lab/tree/01_quickstart.ipynb?token=testtoken123"
        with urllib.request.urlopen(url, timeout=10) as r:  # the page of the first tutorial
            assert r.status == 200 and b"JupyterLab" in r.read()
        api = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?content=0&token=testtoken123"
        with urllib.request.urlopen(api, timeout=10) as r:  # it serves the tutorials folder
            assert b'"name": "01_quickstart.ipynb"' in r.read().replace(b'":"', b'": "')
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_taken_port_is_refused_with_what_to_do(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "workbench.lab", "--port", str(port)], cwd=tmp_path,
                              env=lab_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"make lab PORT={port + 1}" in done.stderr
    assert "token=" not in done.stdout  # no URL pointing at whatever owns the port
