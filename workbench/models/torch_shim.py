"""A thinc wrapper around a torch module whose weights are updated with torch's kernels.

`PyTorchWrapper` is thinc's `PyTorchWrapper_v3` (same forward, conversions, mixed
precision and serialization) with `TorchUpdateShim` as its shim: its `finish_update`
applies the optimizer's update through `workbench.training.torch_update` (multi-tensor
ops, fused Adam), and takes thinc's per-parameter numpy path only for the settings that
module refuses. Training forwards keep freed memory for reuse (`workbench.allocator`).
"""
from typing import Any, Callable, Optional

from thinc.api import Model, PyTorchGradScaler, PyTorchShim
from thinc.layers.pytorchwrapper import forward as pytorch_forward

from ..allocator import keep_freed_memory


class TorchUpdateShim(PyTorchShim):
    """thinc's PyTorchShim with the optimizer step run in torch; its first training
    forward applies the allocator policy (`workbench.allocator`)."""

    def begin_update(self, inputs: Any):
        keep_freed_memory()
        return super().begin_update(inputs)

    def finish_update(self, optimizer: Any) -> None:
        from ..training.torch_update import torch_update

        params = [(name, p) for name, p in self._model.named_parameters() if p.grad is not None]
        if self._grad_scaler.found_inf:  # an overflow in mixed precision: skip the step (as thinc)
            for _, p in params:
                p.grad = None
        elif not torch_update(optimizer, self.id, params):
            super().finish_update(optimizer)
            return
        self._grad_scaler.update()


def PyTorchWrapper(
    module: Any,
    *,
    convert_inputs: Callable,
    convert_outputs: Callable,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    serialize_model: Optional[Callable] = None,
    deserialize_model: Optional[Callable] = None,
) -> Model:
    """thinc's PyTorchWrapper_v3 around `module`, with a TorchUpdateShim."""
    shim = TorchUpdateShim(
        module,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        serialize_model=serialize_model,
        deserialize_model=deserialize_model,
    )
    return Model(
        "pytorch",
        pytorch_forward,
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[shim],
        dims={"nI": None, "nO": None},
    )
