"""The spec's first custom embedding layer (static vectors only), with workbench imports."""
from typing import List

from thinc.api import Model
from thinc.types import Floats2d

from workbench import Doc, registry
from workbench.models import StaticVectors

print("I was imported!")


@registry.architectures("my_example.MyEmbedding.v1")
def MyEmbedding(output_width: int) -> Model[List[Doc], List[Floats2d]]:
    print("I was called!")
    return StaticVectors(nO=output_width)
