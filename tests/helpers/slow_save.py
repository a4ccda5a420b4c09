"""`python -m workbench` with one save of model-best slowed down, for tests that kill it.

    python -m tests.helpers.slow_save STATE_DIR train CONFIG --output OUT ...

The first save of OUT/model-best goes through; the digests of the files it wrote go
to STATE_DIR/first-best.json. The second stops halfway (the tok2vec is written, the
heads are not), prints SAVING and sleeps, so that the test can signal the process
in the middle of the save. Every other save is left alone.
"""
import hashlib
import json
import sys
import time
from pathlib import Path


def folder_digests(path: Path) -> dict:
    """{relative file path: sha256} of every file under `path`."""
    path = Path(path)
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file()}


def install(state_dir: Path) -> None:
    from workbench.pipeline.language import Pipeline
    from workbench.pipeline.tagger import TaggerComponent

    saves = {"model-best": 0}
    real_to_disk, real_tagger_to_disk = Pipeline.to_disk, TaggerComponent.to_disk

    def to_disk(self, path):
        path = Path(path)
        if path.name == "model-best":
            saves["model-best"] += 1
        real_to_disk(self, path)
        if path.name == "model-best" and saves["model-best"] == 1:
            (state_dir / "first-best.json").write_text(json.dumps(folder_digests(path)))

    def tagger_to_disk(self, path):
        if ".model-best.saving-" in str(path) and saves["model-best"] == 2:
            print("SAVING", flush=True)
            time.sleep(120)
        return real_tagger_to_disk(self, path)

    Pipeline.to_disk = to_disk
    TaggerComponent.to_disk = tagger_to_disk


if __name__ == "__main__":
    state = Path(sys.argv[1])
    state.mkdir(parents=True, exist_ok=True)
    install(state)
    from workbench.cli import main

    sys.exit(main(sys.argv[2:]))
