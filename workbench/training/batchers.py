"""Batchers: group examples into batches of about `size` words."""
from typing import Any, Callable, Iterable, Iterator, List, Union

from ..settings import NonNegativeFloat, PositiveInt, checked


@checked
def batch_by_words(
    size: Union[PositiveInt, Iterator[float]] = 1000,
    tolerance: NonNegativeFloat = 0.2,
    discard_oversize: bool = False,
) -> Callable[[Iterable[Any]], Iterator[List[Any]]]:
    """Batches whose word count stays under size * (1 + tolerance).

    `size` may be a schedule (e.g. compounding.v1): each batch takes its next value.
    An example longer than the limit gets a batch of its own, or is dropped
    when discard_oversize is true.
    """

    def size_at(step: int) -> int:
        return int(size) if isinstance(size, (int, float)) else int(next(size))

    def batcher(items: Iterable[Any]) -> Iterator[List[Any]]:
        step = 0
        limit = size_at(step) * (1 + tolerance)
        batch: List[Any] = []
        n_words = 0
        for item in items:
            length = len(item.reference) if hasattr(item, "reference") else len(item)
            if length > limit:
                if not discard_oversize:
                    yield [item]
                    step += 1
                    limit = size_at(step) * (1 + tolerance)
                continue
            if n_words + length > limit and batch:
                yield batch
                step += 1
                limit = size_at(step) * (1 + tolerance)
                batch, n_words = [], 0
            batch.append(item)
            n_words += length
        if batch:
            yield batch

    return batcher
