"""Scoring: token accuracy and per-label entity precision / recall / F."""
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Tuple

from .text.doc import Doc


def score_pipeline(nlp: Any, examples: List[Any], *, batch_size: int = 256) -> Dict[str, Any]:
    """Run `nlp` on unannotated copies of the references and score every component."""
    from .training.example import Example

    blanks = [Doc(nlp.vocab, words=list(eg.reference.words), spaces=list(eg.reference.spaces)) for eg in examples]
    predicted = list(nlp.pipe(blanks, batch_size=batch_size))
    scored = [Example(p, eg.reference) for p, eg in zip(predicted, examples)]
    scores: Dict[str, Any] = {}
    for name, comp in nlp.components:
        if hasattr(comp, "score"):
            scores.update(comp.score(scored))
    return scores


def prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f}


def score_spans(pairs: Iterable[Tuple[List[Tuple[int, int, str]], List[Tuple[int, int, str]]]], prefix: str = "ents") -> Dict[str, Any]:
    """Exact-match span scores from (guessed spans, gold spans) per doc."""
    counts = defaultdict(lambda: [0, 0, 0])  # label -> [tp, fp, fn]
    for guessed, gold in pairs:
        guess_set, gold_set = set(guessed), set(gold)
        for span in guess_set:
            counts[span[2]][0 if span in gold_set else 1] += 1
        for span in gold_set - guess_set:
            counts[span[2]][2] += 1
    tp = sum(c[0] for c in counts.values())
    fp = sum(c[1] for c in counts.values())
    fn = sum(c[2] for c in counts.values())
    total = prf(tp, fp, fn)
    return {
        f"{prefix}_p": total["p"],
        f"{prefix}_r": total["r"],
        f"{prefix}_f": total["f"],
        f"{prefix}_per_type": {label: prf(*c) for label, c in sorted(counts.items())},
    }


def weighted_score(scores: Dict[str, Any], weights: Dict[str, float]) -> float:
    """The single number that picks model-best."""
    total = sum(w for w in weights.values() if w)
    if not total:
        return 0.0
    return sum(float(scores.get(k, 0.0) or 0.0) * w for k, w in weights.items() if w) / total
