"""Example: a predicted Doc paired with its gold reference Doc over the same words."""
from ..errors import DataError
from ..text.doc import Doc


class Example:
    """`predicted` is what the pipeline annotates; `reference` holds the gold annotation."""

    __slots__ = ("predicted", "reference")

    def __init__(self, predicted: Doc, reference: Doc):
        if predicted.words != reference.words:
            raise DataError(_mismatch(predicted.words, reference.words))
        self.predicted = predicted
        self.reference = reference

    @classmethod
    def from_gold(cls, vocab, gold_doc: Doc) -> "Example":
        """Pair `gold_doc` with a new, unannotated Doc over the same words and spaces."""
        predicted = Doc(vocab, words=list(gold_doc.words), spaces=list(gold_doc.spaces))
        return cls(predicted, gold_doc)

    @classmethod
    def from_dict(cls, vocab, data: dict) -> "Example":
        """Example whose reference is `Doc.from_json(vocab, data)`."""
        return cls.from_gold(vocab, Doc.from_json(vocab, data))

    @property
    def x(self) -> Doc:
        return self.predicted

    @property
    def y(self) -> Doc:
        return self.reference

    @property
    def text(self) -> str:
        return self.reference.text

    def __len__(self) -> int:
        return len(self.reference)

    def to_dict(self) -> dict:
        """The reference in the annotated JSON format."""
        return self.reference.to_json()

    def __repr__(self) -> str:
        text = self.reference.text
        return f"Example({len(self)} words: {text[:40]!r}{'...' if len(text) > 40 else ''})"


def _mismatch(pred, ref) -> str:
    for i, (p, r) in enumerate(zip(pred, ref)):
        if p != r:
            return (f"Example: predicted and reference words differ at token {i}: "
                    f"{p!r} != {r!r}; build the predicted doc from the reference's words "
                    f"(Example.from_gold(vocab, reference))")
    return (f"Example: predicted has {len(pred)} words but reference has {len(ref)}; "
            f"build the predicted doc from the reference's words "
            f"(Example.from_gold(vocab, reference))")
