"""Frozen MiniLM + tagger: the listener reading the last layer vs a scalar mix of all layers.

Trains `sample_data/configs/transformer.cfg` as a transformer + tagger (UPOS), the
transformer frozen, the tagger at 20x the learn rate, once per listener setting and seed,
and prints pos_acc on `sample_data/dev.jsonl` at each evaluation, the training words/s
(the mix's cost: every hidden state is kept and summed) and the learned layer shares.
With --ewt it trains on the EWT-dev documents that bench_embedding_layouts trains on and
scores its held-out documents (every 5th) instead.

    python bench/bench_layer_mix.py [--steps 60] [--eval-every 20] [--seeds 0 1] [--ewt]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from workbench.config import load_config  # noqa: E402
from workbench.models.transformer.listener import layer_weights  # noqa: E402
from workbench.training.loop import train  # noqa: E402

SAMPLE = ROOT / "sample_data"


def run(layer_mix: bool, seed: int, steps: int, eval_every: int, train_path: Path, dev_path: Path) -> dict:
    config = load_config(SAMPLE / "configs" / "transformer.cfg", {
        "paths.train": str(train_path), "paths.dev": str(dev_path), "system.seed": seed,
        "nlp.pipeline": ["transformer", "tagger"], "training.score_weights": {"pos_acc": 1.0},
        "training.frozen_components": ["transformer"], "training.learn_rate_multipliers": {"tagger": 20.0},
        "training.max_steps": steps, "training.max_epochs": 0, "training.eval_frequency": eval_every,
        "components.tagger.model.tok2vec.layer_mix": layer_mix,
    })
    del config["components"]["ner"]
    curve, words = {}, []
    t0 = time.perf_counter()

    def watch(event):
        if event.kind == "evaluate":
            curve[event.step] = event.scores["pos_acc"]
        elif event.kind == "step":
            words.append(event.words_per_second)

    result = train(config, None, subscribers=[watch])
    node = next(n for n in result.nlp.get_pipe("tagger").model.walk() if n.name == "transformer-listener")
    shares = [round(float(x), 2) for x in layer_weights(node)] if layer_mix else None
    return {"mix": layer_mix, "seed": seed, "curve": curve, "wps": words[-1] if words else 0.0,
            "seconds": time.perf_counter() - t0, "shares": shares}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--ewt", action="store_true", help="EWT dev documents, every 5th held out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.ewt:
            from ewt import split_ewt

            train_path, dev_path, n_train, n_dev = split_ewt(Path(tmp))
            data = f"EWT dev: {n_train} training / {n_dev} held-out sentences"
        else:
            train_path, dev_path, data = SAMPLE / "train.jsonl", SAMPLE / "dev.jsonl", "sample_data train / dev"
        rows = [run(mix, seed, args.steps, args.eval_every, train_path, dev_path)
                for seed in args.seeds for mix in (False, True)]
    steps = sorted({s for r in rows for s in r["curve"]})
    print(f"\nFrozen MiniLM + tagger, tagger x20, {data}; pos_acc (%) by step")
    print("| listener | seed | " + " | ".join(f"step {s}" for s in steps) + " | train words/s | run s | layer shares (emb..last) |")
    print("|---" * (len(steps) + 5) + "|")
    for r in rows:
        cells = " | ".join(f"{100 * r['curve'][s]:.1f}" if s in r["curve"] else "" for s in steps)
        print(f"| {'layer mix' if r['mix'] else 'last layer'} | {r['seed']} | {cells} | {r['wps']:.0f} | "
              f"{r['seconds']:.0f} | {r['shares'] or ''} |")
    for mix in (False, True):
        final = [r["curve"][steps[-1]] for r in rows if r["mix"] == mix and steps[-1] in r["curve"]]
        if final:
            print(f"{'layer mix' if mix else 'last layer'}: mean pos_acc at step {steps[-1]} = {100 * sum(final) / len(final):.1f}")


if __name__ == "__main__":
    main()
