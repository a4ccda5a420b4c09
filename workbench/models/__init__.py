"""thinc architectures. Registered under their config names in `workbench.registrations`."""
from .embed import MultiHashEmbed
from .encode import MaxoutNorm, MaxoutWindowEncoder
from .featurize import FeatureIds
from .tagger import SoftmaxOutput, Tagger
from .tok2vec import HashEmbedCNN, Tok2Vec

__all__ = [
    "FeatureIds",
    "HashEmbedCNN",
    "MaxoutNorm",
    "MaxoutWindowEncoder",
    "MultiHashEmbed",
    "SoftmaxOutput",
    "Tagger",
    "Tok2Vec",
]
