"""`init config --pipeline transformer,tagger,ner`: a transformer shared by listening heads.

Two defaults, both measured on the sample data (README, "Transformer defaults"):
- every head's listener mixes all hidden layers (`layer_mix = true`): the last layer of the
  default MiniLM is tuned for sentence embeddings and is a weak token feature;
- every head learns at HEAD_LEARN_RATE_MULTIPLIER times the optimizer's learn rate, which
  stays the transformer's (`[training] learn_rate_multipliers`);
- the learn rate warms up over WARMUP_STEPS steps to TRANSFORMER_LEARN_RATE and decays to 0
  at the end of the run (`workbench.warmup_decay_to_end.v1`: max_steps, max_epochs,
  max_seconds or max_cpu_seconds, whichever ends it).
"""
import copy
from typing import Any, Dict, List

from confection import Config

from ..config import fill_config
from .defaults import default_model

HEAD_LEARN_RATE_MULTIPLIER = 20.0
TRANSFORMER_LEARN_RATE = 0.0005  # the peak of the schedule: warm-up, then linear decay to 0 at the run's end
WARMUP_STEPS = 50


def transformer_init_config(heads: List[str]) -> Config:
    """A complete training config: [components.transformer] and one listening component per head."""
    listener = default_model("transformer_listener")
    components: Dict[str, Any] = {"transformer": {"factory": "transformer", "model": default_model("transformer")}}
    for name in heads:
        tok2vec = copy.deepcopy(listener)
        if name == "tagger":
            model = {"@architectures": "workbench.Tagger.v1", "nO": None, "tok2vec": tok2vec}
        else:
            model = {"@architectures": "workbench.TransitionBasedParser.v1", "state_type": name, "tok2vec": tok2vec}
            if name == "parser":
                size = default_model("parser")
                model.update(hidden_width=size["hidden_width"], maxout_pieces=size["maxout_pieces"])
        components[name] = {"factory": name, "model": model}
    training = {
        "learn_rate_multipliers": {name: HEAD_LEARN_RATE_MULTIPLIER for name in heads},
        "optimizer": {"@optimizers": "Adam.v1", "learn_rate": {
            "@schedules": "workbench.warmup_decay_to_end.v1", "peak": TRANSFORMER_LEARN_RATE,
            "warmup_steps": WARMUP_STEPS, "final": 0.0}},
    }
    config = Config({"nlp": {"lang": "en", "pipeline": ["transformer"] + list(heads)}, "components": components,
                     "training": training}, is_interpolated=False)
    return fill_config(config)
