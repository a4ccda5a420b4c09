"""`python -m workbench.demo`: train and evaluate the sample pipeline from the command line.

Trains a tagger (UPOS) and an entity recognizer that share one tok2vec on
`sample_data/train.jsonl`, scores them on `sample_data/dev.jsonl`, shows a few
predictions and saves the pipeline to `training/demo/`.
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
    parser.add_argument("--config", default=str(SAMPLE / "configs" / "shared.cfg"))
    parser.add_argument("--output", default=str(ROOT / "training" / "demo"))
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)
    overrides = {"paths.train": str(SAMPLE / "train.jsonl"), "paths.dev": str(SAMPLE / "dev.jsonl")}
    if args.max_epochs is not None:
        overrides["training.max_epochs"] = args.max_epochs
    config = load_config(args.config, overrides)
    print(f"Training {args.config} on {SAMPLE / 'train.jsonl'}", flush=True)
    train(config, Path(args.output), subscribers=[ConsoleLogger(config["training"]["eval_frequency"], progress=False)])
    nlp = load(Path(args.output) / "model-best")
    scores = nlp.evaluate(list(Corpus(SAMPLE / "dev.jsonl")(nlp)))
    print("\nScores of model-best on sample_data/dev.jsonl:")
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
