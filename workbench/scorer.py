"""Scoring: token accuracy, per-label entity P/R/F, attachment scores, text categories."""
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


# -- dependency parses and categories ----------------------------------------------

PUNCT_LABELS = ("p", "punct")


def score_deps(examples: Iterable[Any], ignore_labels: Tuple[str, ...] = PUNCT_LABELS) -> Dict[str, Any]:
    """Attachment scores of the predicted parses against the references.

    dep_uas / dep_las: the share of scored tokens with the right head (and label);
    tokens whose gold label is in `ignore_labels` (punctuation, as is usual) and
    tokens without a gold head are not scored. Labels compare case-insensitively,
    so "ROOT" matches UD's "root"; a root is its own head on both sides.
    dep_las_per_type: per gold/predicted label, P/R/F of (token, head, label) triples.
    sents_p/r/f: exact-match sentence spans (predicted sentences follow the parse).
    """
    ignore = {x.lower() for x in ignore_labels}
    n = uas = las = 0
    counts = defaultdict(lambda: [0, 0, 0])  # label -> [tp, fp, fn]
    sent_pairs = []
    for eg in examples:
        pred, gold = eg.predicted, eg.reference
        if not gold.has_heads:
            continue
        p_heads = pred.heads if pred.has_heads else [None] * len(pred)
        p_deps = [(d or "").lower() for d in pred.deps]
        for i, (gh, gd) in enumerate(zip(gold.heads, gold.deps)):
            gd = (gd or "").lower()
            if gh is None or gd in ignore:
                continue
            ph, pd = p_heads[i], p_deps[i]
            n += 1
            uas += ph == gh
            las += ph == gh and pd == gd
            if ph == gh and pd == gd:
                counts[gd][0] += 1
            else:
                counts[gd][2] += 1
                if ph is not None and pd not in ignore:
                    counts[pd][1] += 1
        sent_pairs.append(([(s.start, s.end, "S") for s in pred.sents], [(s.start, s.end, "S") for s in gold.sents]))
    sents = score_spans(sent_pairs, prefix="sents")
    return {
        "dep_uas": uas / n if n else 0.0,
        "dep_las": las / n if n else 0.0,
        "dep_las_per_type": {label: prf(*c) for label, c in sorted(counts.items())},
        "sents_p": sents["sents_p"], "sents_r": sents["sents_r"], "sents_f": sents["sents_f"],
    }


def score_cats(examples: Iterable[Any], labels: List[str], *, multi_label: bool = False,
               threshold: float = 0.5, prefix: str = "cats") -> Dict[str, Any]:
    """Text classification scores of the predicted `doc.cats` against the references.

    Exclusive classes (multi_label false): the predicted class is the highest score,
    the gold class the highest gold value. Multi-label: a label is predicted when its
    score is >= `threshold`, gold when its value is >= 0.5. Returns accuracy (exclusive:
    right class; multi-label: right label set), macro F (mean of the per-label F,
    also `cats_score`), micro F (from the summed counts) and per-label P/R/F.
    Docs without gold cats are not scored.
    """
    counts = {label: [0, 0, 0] for label in labels}
    right = total = 0
    for eg in examples:
        gold, pred = eg.reference.cats, eg.predicted.cats
        if not gold:
            continue
        total += 1
        if multi_label:
            g = {x for x in labels if gold.get(x, 0.0) >= 0.5}
            p = {x for x in labels if pred.get(x, 0.0) >= threshold}
        else:
            g = {max(labels, key=lambda x: gold.get(x, 0.0))}
            p = {max(labels, key=lambda x: pred.get(x, -1.0))} if pred else set()
        right += g == p
        for x in labels:
            if x in p and x in g:
                counts[x][0] += 1
            elif x in p:
                counts[x][1] += 1
            elif x in g:
                counts[x][2] += 1
    per = {x: prf(*c) for x, c in counts.items()}
    micro = prf(*(sum(c[k] for c in counts.values()) for k in range(3)))
    macro = sum(v["f"] for v in per.values()) / len(per) if per else 0.0
    return {
        f"{prefix}_score": macro,
        f"{prefix}_accuracy": right / total if total else 0.0,
        f"{prefix}_macro_f": macro,
        f"{prefix}_micro_f": micro["f"],
        f"{prefix}_f_per_type": per,
    }
