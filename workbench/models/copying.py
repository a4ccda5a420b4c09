"""Copy a thinc model with its refs (thinc's Model.copy leaves refs out)."""
from thinc.api import Model


def copy_model(model: Model) -> Model:
    """A deep copy with new ids (so optimizers keep separate state) and the same refs."""
    copied = model.copy()
    old_nodes, new_nodes = list(model.walk()), list(copied.walk())
    index = {node.id: i for i, node in enumerate(old_nodes)}
    for old, new in zip(old_nodes, new_nodes):
        for name in old.ref_names:
            if old.has_ref(name) and old.get_ref(name).id in index:
                new.set_ref(name, new_nodes[index[old.get_ref(name).id]])
    return copied
