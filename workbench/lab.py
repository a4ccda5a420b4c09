"""`python -m workbench.lab`: open JupyterLab on the tutorials, on 127.0.0.1 with a token."""
import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--notebooks", default=str(NOTEBOOKS))
    args = parser.parse_args(argv)
    token = os.environ.get("WORKBENCH_LAB_TOKEN") or secrets.token_hex(16)
    print(f"JupyterLab on the tutorials: http://127.0.0.1:{args.port}/lab?token={token}", flush=True)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={args.port}",
        f"--ServerApp.root_dir={args.notebooks}", f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
