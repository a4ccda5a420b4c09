"""`python -m workbench.lab` (`make lab`): JupyterLab on the tutorials, on 127.0.0.1 with a token.

It opens on the first tutorial (notebooks/01_quickstart.ipynb). The URL is printed
only once the server answers on that port with this run's token, so it always
points at this server: JupyterLab is told not to move to another port
(`--ServerApp.port_retries=0`), and a port that is already taken is reported
before anything starts, with what to do. Needs a checkout of the repository (the
tutorials are its `notebooks/` folder), or `--notebooks DIR`.
"""
import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FIRST = "01_quickstart.ipynb"
HOST = "127.0.0.1"


def port_taken(port: int, host: str = HOST) -> bool:
    """True when something already listens on host:port (or the port cannot be bound)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_until_ready(proc: subprocess.Popen, base: str, token: str, timeout: float) -> bool:
    """Poll the server's status with our token until it answers (True), exits or times out (False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return True
        except urllib.error.HTTPError as e:  # someone else's server (wrong token): not ours
            if e.code in (401, 403):
                return False
        except OSError:
            pass
        time.sleep(0.3)
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--notebooks", default=str(NOTEBOOKS))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the server to start")
    args = parser.parse_args(argv)
    root = Path(args.notebooks)
    if not root.is_dir():
        print(f"Error: {root} is not a folder. `make lab` needs a checkout of the repository (its notebooks/), "
              f"or pass --notebooks DIR.", file=sys.stderr)
        return 2
    if port_taken(args.port):
        print(f"Error: port {args.port} on {HOST} is already in use (another JupyterLab or server?). Stop it, "
              f"or choose another port: make lab PORT={args.port + 1}  (python -m workbench.lab --port "
              f"{args.port + 1}).", file=sys.stderr)
        return 1
    token = os.environ.get("WORKBENCH_LAB_TOKEN") or secrets.token_hex(16)
    first = FIRST if (root / FIRST).exists() else ""
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--ip={HOST}", f"--port={args.port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
    ]
    if first:
        cmd.append(f"--LabApp.default_url=/lab/tree/{first}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd)
    base = f"http://{HOST}:{args.port}"
    try:
        if not wait_until_ready(proc, base, token, args.timeout):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
            print(f"Error: JupyterLab did not start on port {args.port} (exit code {proc.returncode}); see its log "
                  f"above. If the port was taken meanwhile, choose another: make lab PORT={args.port + 1}.",
                  file=sys.stderr)
            return 1
        path = f"/lab/tree/{first}" if first else "/lab"
        print(f"\nJupyterLab on the tutorials (port {args.port}): {base}{path}?token={token}\n"
              f"Start with {first or 'the notebooks listed in README.md'}; stop with Ctrl-C.", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0


if __name__ == "__main__":
    sys.exit(main())
