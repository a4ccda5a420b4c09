"""thinc's Optimizer update for the weights of a torch module, run with torch's kernels.

thinc's `PyTorchShim.finish_update` hands each torch parameter to the optimizer as a
numpy array, one at a time, and thinc's Adam runs in one thread (a sixth of a MiniLM
fine-tuning step). `torch_update` applies the SAME update, per parameter and in thinc's
order, with torch's multi-tensor ops and its fused Adam kernel:

    t = the parameter's update count (optimizer.nr_update), lr = learn_rate · lr_scale
    L2, L2_is_weight_decay = false:  g += L2 · w
    grad_clip:                       g *= grad_clip / |g|   when |g| >= grad_clip (each parameter's own norm)
    Adam (beta1 > 0, beta2 > 0):     m = b1·m + (1 - b1)·g;  v = b2·v + (1 - b2)·g²
                                     w -= lr · sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps)
    SGD (beta2 = 0):                 w -= lr · g
    L2, L2_is_weight_decay = true:   w -= lr · L2 · w   (on the stepped weights; in Adam's kernel pass)
    use_averages:                    avg += (1 - d)·(w - avg),  d = min((1 + t) / (10 + t), 0.9999)
    then the gradient is released (set to None; thinc zeroes it in place: the next
    backward pass gives the same gradient either way).

torch's Adam kernel divides m by sqrt(v) / sqrt(1 - b2^t) + eps, so it is given
eps / sqrt(1 - b2^t), which makes its formula thinc's exactly.

The state stays where thinc keeps it (`optimizer.mom1`, `mom2`, `averages`, `nr_update`,
keyed (shim id, parameter name); arrays of the kind thinc allocates); the torch ops work
on zero-copy views of it. So `use_params(optimizer.averages)`, saving, and thinc's own
path read and continue the same state. The current value of every schedule is used
(the training loop steps them). `ScaledOptimizer`'s per-component lr_scale is honoured.

Settings the torch path does not run return False, and the caller takes thinc's path
for them (`TORCH_PATH_REFUSES` says which).
"""
from collections import defaultdict
from typing import Any, Dict, List, Tuple

import numpy
import torch
from thinc.api import Optimizer, torch2xp, xp2torch
from thinc.backends import get_array_ops
from torch.optim.adam import adam as torch_adam  # the functional API torch.optim.Adam runs

from .lr_multipliers import ScaledOptimizer

TORCH_PATH_REFUSES = (
    "RAdam (use_radam), beta2 > 0 with beta1 = 0 (thinc itself refuses it), an optimizer class "
    "other than thinc's Optimizer or ScaledOptimizer (its own __call__ could do anything), and "
    "weights or gradients that are not float32: those take thinc's per-parameter path."
)


def can_update(optimizer: Any, params: List[Tuple[str, torch.Tensor]]) -> bool:
    """True when `torch_update` applies exactly what `optimizer(key, w, g)` would."""
    if type(optimizer) not in (Optimizer, ScaledOptimizer) or optimizer.use_radam:
        return False
    if optimizer.b2 > 0.0 and not optimizer.b1 > 0.0:
        return False
    return all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for _, p in params)


def torch_update(optimizer: Any, holder_id: int, params: List[Tuple[str, torch.Tensor]]) -> bool:
    """Update the (name, parameter) pairs that have a gradient as `optimizer` would, keyed
    (holder_id, name); release their gradients. False (and nothing done) when `can_update`
    refuses the optimizer: call thinc's path then."""
    params = [(name, p) for name, p in params if p.grad is not None]
    if not can_update(optimizer, params):
        return False
    scales: Dict[Any, float] = getattr(optimizer, "lr_scales", {}) if isinstance(optimizer, ScaledOptimizer) else {}
    with torch.no_grad():
        live = []  # (key, t, lr_scale, weights, gradient)
        for name, p in params:
            if p.numel() == 0:  # thinc returns before counting the update
                continue
            if not p.grad.is_contiguous():
                p.grad = p.grad.contiguous()
            key = (holder_id, name)
            optimizer.nr_update[key] += 1
            live.append((key, optimizer.nr_update[key], scales.get(key, 1.0), p, p.grad))
        if live:
            _step(optimizer, live)
        _zero_grads([p for _, p in params])
    return True


def _zero_grads(params: List[torch.Tensor]) -> None:
    """Release the gradients (None, as torch.optim's zero_grad does): the next backward
    then writes fresh ones instead of adding onto zeros, one pass over every weight less."""
    for p in params:
        p.grad = None


def _step(optimizer: Any, live: list) -> None:
    weights = [w for _, _, _, w, _ in live]
    grads = [g for _, _, _, _, g in live]
    L2 = float(optimizer.L2)
    if L2 != 0.0 and not optimizer.L2_is_weight_decay:
        torch._foreach_add_(grads, weights, alpha=L2)
    if optimizer.grad_clip:
        _clip(grads, float(optimizer.grad_clip))
    groups: Dict[Tuple[int, float], list] = defaultdict(list)  # (t, lr_scale) -> entries
    for entry in live:
        groups[(entry[1], entry[2])].append(entry)
    for (t, lr_scale), entries in groups.items():
        lr = float(optimizer.learn_rate) * lr_scale
        w = [e[3] for e in entries]
        g = [e[4] for e in entries]
        decay = lr * L2 if optimizer.L2_is_weight_decay else 0.0  # w *= 1 - decay after the step
        if optimizer.b1 > 0.0 and optimizer.b2 > 0.0:
            _adam(optimizer, [e[0] for e in entries], w, g, t, lr, decay)
        else:
            torch._foreach_add_(w, g, alpha=-lr)
            if decay:
                torch._foreach_mul_(w, 1.0 - decay)
    if optimizer.averages is not None:
        _average(optimizer, live)


def _clip(grads: List[torch.Tensor], threshold: float) -> None:
    """Scale each gradient whose norm is >= threshold down to that norm (thinc's clip_gradient)."""
    norms = torch.stack(torch._foreach_norm(grads)).tolist()
    over = [(g, threshold / n) for g, n in zip(grads, norms) if n >= threshold]
    if over:
        torch._foreach_mul_([g for g, _ in over], [f for _, f in over])


def _adam(optimizer: Any, keys: list, weights: List[torch.Tensor], grads: List[torch.Tensor], t: int, lr: float,
          decay: float) -> None:
    """thinc's Adam step, then w *= 1 - decay, in one pass of torch's fused kernel.

    Its AdamW mode decays first: w' = w·(1 - lr_k·wd_k) - lr_k·step; with lr_k = lr·(1 - decay)
    and lr_k·wd_k = decay that is (w - lr·step)·(1 - decay), thinc's order exactly.
    """
    b1, b2 = float(optimizer.b1), float(optimizer.b2)
    fold = 0.0 < decay < 1.0
    lr_k = lr * (1.0 - decay) if fold else lr
    wd_k = decay / lr_k if fold else 0.0
    mom1 = [_state(optimizer.mom1, k, w, flat=True) for k, w in zip(keys, weights)]
    mom2 = [_state(optimizer.mom2, k, w, flat=True) for k, w in zip(keys, weights)]
    device = weights[0].device
    steps = [torch.tensor(float(t - 1), device=device) for _ in weights]  # the kernel adds 1
    torch_adam(
        weights, grads, mom1, mom2, [], steps,
        fused=_fused_ok(device), foreach=not _fused_ok(device),
        amsgrad=False, beta1=b1, beta2=b2, lr=lr_k, weight_decay=wd_k, decoupled_weight_decay=True,
        eps=float(optimizer.eps) / (1.0 - b2 ** t) ** 0.5, maximize=False,
    )
    if decay and not fold:  # an odd L2 (lr·L2 >= 1 or < 0): its own pass
        torch._foreach_mul_(weights, 1.0 - decay)


def _average(optimizer: Any, live: list) -> None:
    by_t: Dict[int, list] = defaultdict(list)
    for key, t, _, w, _ in live:
        by_t[t].append((_state(optimizer.averages, key, w, flat=False), w))
    for t, pairs in by_t.items():
        decay = min((1.0 + t) / (10.0 + t), 0.9999)
        torch._foreach_lerp_([a for a, _ in pairs], [w for _, w in pairs], 1.0 - decay)


def _state(table: Dict[Any, Any], key: Any, like: torch.Tensor, flat: bool) -> torch.Tensor:
    """A torch view, shaped like `like`, of table[key]; allocated (zeros) as thinc would:
    flat for the moments, the weights' shape for the averages."""
    array = table.get(key)
    if array is None:
        ops = get_array_ops(torch2xp(like))
        array = ops.alloc1f(like.numel()) if flat else ops.alloc(tuple(like.shape), dtype="float32")
        table[key] = array
    if isinstance(array, torch.Tensor):
        return array.view(like.shape)
    if isinstance(array, numpy.ndarray):
        return torch.from_numpy(array).view(like.shape)
    return xp2torch(array, device=like.device).view(like.shape)


_FUSED: Dict[str, bool] = {}


def _fused_ok(device: torch.device) -> bool:
    """Whether torch has a fused Adam kernel for this device type (cpu and cuda do)."""
    if device.type not in _FUSED:
        try:
            from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

            _FUSED[device.type] = device.type in _get_fused_kernels_supported_devices()
        except ImportError:
            _FUSED[device.type] = False
    return _FUSED[device.type]
