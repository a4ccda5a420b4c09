"""`python -m workbench.demo`: train and evaluate the sample pipeline from the command line.

Trains a tagger (UPOS) and an entity recognizer that share one tok2vec on
`sample_data/train.jsonl`, scores them on `sample_data/dev.jsonl`, shows a few
predictions and saves the pipeline to `training/demo/`. The sample data is the
checkout's `sample_data/` folder; from an installed package, pass `--data DIR`
(a folder with train.jsonl, dev.jsonl and configs/shared.cfg).
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def main(argv=None) -> int:
    from . import load
    from .commands import format_scores
    from .config import load_config
    from .corpora.corpus import Corpus
    from .training.logger import ConsoleLogger
    from .training.loop import train

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(SAMPLE), help="folder with train.jsonl, dev.jsonl, configs/shared.cfg")
    parser.add_argument("--config", default=None, help="default: DATA/configs/shared.cfg")
    parser.add_argument("--output", default=str(ROOT / "training" / "demo"))
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)
    data = Path(args.data)
    config_path = Path(args.config) if args.config else data / "configs" / "shared.cfg"
    missing = [p for p in (data / "train.jsonl", data / "dev.jsonl", config_path) if not p.is_file()]
    if missing:
        print(f"Error: {', '.join(map(str, missing))} not found. The demo reads the sample data of a checkout of "
              f"the repository (sample_data/); from an installed package, pass --data DIR (and --config FILE).",
              file=sys.stderr)
        return 2
    overrides = {"paths.train": str(data / "train.jsonl"), "paths.dev": str(data / "dev.jsonl")}
    if args.max_epochs is not None:
        overrides["training.max_epochs"] = args.max_epochs
    config = load_config(config_path, overrides)
    print(f"Training {config_path} on {data / 'train.jsonl'}", flush=True)
    train(config, Path(args.output), subscribers=[ConsoleLogger(config["training"]["eval_frequency"], progress=False)])
    nlp = load(Path(args.output) / "model-best")
    scores = nlp.evaluate(list(Corpus(data / "dev.jsonl")(nlp)))
    print(f"\nScores of model-best on {data / 'dev.jsonl'}:")
    print(format_scores(scores))
    print("\nPredictions:")
    for text in ("Maria Lopez flew from Lisbon to Nairobi for the Northwind Shipping Company.",
                 "Can you send the report to Tom before Friday?"):
        doc = nlp(text)
        print(" ", " ".join(f"{t.text}/{t.pos_}" for t in doc))
        print("   entities:", [(e.text, e.label_) for e in doc.ents])
    return 0


if __name__ == "__main__":
    sys.exit(main())
