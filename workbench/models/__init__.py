"""thinc architectures. Registered under their config names in `workbench.registrations`."""
from .custom_embed import AddableRagged, FeatureExtractor
from .embed import MultiHashEmbed, MultiHashEmbedV1
from .encode import MaxoutNorm, MaxoutWindowEncoder
from .featurize import FeatureIds
from .static_vectors import StaticVectors
from .tagger import SoftmaxOutput, Tagger
from .tok2vec import HashEmbedCNN, Tok2Vec

__all__ = [
    "AddableRagged",
    "FeatureExtractor",
    "FeatureIds",
    "HashEmbedCNN",
    "MaxoutNorm",
    "MaxoutWindowEncoder",
    "MultiHashEmbed",
    "MultiHashEmbedV1",
    "SoftmaxOutput",
    "StaticVectors",
    "Tagger",
    "Tok2Vec",
]
