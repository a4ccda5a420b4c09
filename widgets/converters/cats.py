"""`doc.cats` as plain data for a bar chart: labels with scores, best first.

    bars = cats_bars(doc)                      # [(label, score, gold or None)]
    bars = cats_bars({"a": 0.2, "b": 0.7}, gold={"b": 1.0}, top=10)
"""
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union


def cats_bars(doc_or_cats: Union[Any, Mapping[str, float]], gold: Optional[Mapping[str, float]] = None,
              top: Optional[int] = None) -> List[Tuple[str, float, Optional[float]]]:
    """(label, score, gold value) per category, highest score first (ties: by label);
    `top` keeps the first N. Scores must be numbers in [0, 1]."""
    cats: Dict[str, float] = dict(doc_or_cats.cats if hasattr(doc_or_cats, "cats") else doc_or_cats)
    for label, score in cats.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise ValueError(f"cats[{label!r}] = {score!r}: category scores are numbers from 0 to 1")
    bars = sorted(((label, float(s), None if gold is None else float(gold.get(label, 0.0)))
                   for label, s in cats.items()), key=lambda b: (-b[1], b[0]))
    return bars[:top] if top is not None else bars
