"""Tokenizer speed on the raw texts of UD English EWT (train), beside str.split.

Run: .venv/bin/python bench/bench_tokenizer.py [--passes 5]
Prints cold (fresh Tokenizer and Vocab: empty cache) and warm (cache filled)
words/s, where words = whitespace-separated words, the same count for both.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared" / "data" / "ud-ewt" / "en_ewt-ud-train.conllu"


def read_texts(path: Path):
    with path.open(encoding="utf8") as f:
        return [line[len("# text = "):].rstrip("\n") for line in f if line.startswith("# text = ")]


def best_time(fn, passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    if not args.path.exists():
        print(f"SKIP: {args.path} not found (UD EWT train split; see shared/data/README.md).")
        return 0
    from workbench.text.tokenizer import Tokenizer
    from workbench.text.vocab import Vocab

    texts = read_texts(args.path)
    n_words = sum(len(t.split()) for t in texts)
    n_chars = sum(len(t) for t in texts)

    def split_all():
        for t in texts:
            t.split()

    def cold():
        tok = Tokenizer(Vocab())
        for t in texts:
            tok(t)

    warm_tok = Tokenizer(Vocab())
    for t in texts:
        warm_tok(t)

    def warm():
        for t in texts:
            warm_tok(t)

    def warm_lex():
        for t in texts:
            warm_tok(t).lex_rows

    n_tokens = sum(len(warm_tok(t)) for t in texts)
    t_split = best_time(split_all, args.passes)
    t_cold = best_time(cold, args.passes)
    t_warm = best_time(warm, args.passes)
    t_lex = best_time(warm_lex, args.passes)
    print(f"EWT train: {len(texts):,} texts, {n_words:,} words, {n_chars:,} chars, "
          f"{n_tokens:,} tokens; best of {args.passes} passes")
    print(f"{'method':<28}{'seconds':>10}{'words/s':>14}{'x str.split':>14}")
    for name, secs in (("str.split", t_split), ("tokenizer, cold cache", t_cold),
                       ("tokenizer, warm cache", t_warm),
                       ("warm + doc.lex_rows", t_lex)):
        print(f"{name:<28}{secs:>10.4f}{n_words / secs:>14,.0f}{t_split / secs:>14.3f}")
    goal = 1_000_000
    rate = n_words / t_warm
    print(f"goal >= {goal:,} words/s (warm): {'MET' if rate >= goal else 'NOT MET'} ({rate:,.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
