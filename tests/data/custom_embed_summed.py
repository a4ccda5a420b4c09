"""The spec's second custom embedding layer: static vectors plus a small learned table
for the words in key2row, summed. Only the imports differ from the spec."""
from typing import Dict, List

from thinc.api import Embed, Model, add, chain, remap_ids
from thinc.types import Floats2d

from workbench import Doc, registry
from workbench.models import FeatureExtractor, StaticVectors


@registry.architectures("my_example.MyEmbedding.v1")
def MyCustomVectors(
    output_width: int,
    vector_width: int,
    embed_rows: int,
    key2row: Dict[int, int]
) -> Model[List[Doc], List[Floats2d]]:
    return add(
        StaticVectors(nO=output_width),
        chain(
           FeatureExtractor(["ORTH"]),
           remap_ids(key2row),
           Embed(nO=output_width, nV=embed_rows)
        )
    )
