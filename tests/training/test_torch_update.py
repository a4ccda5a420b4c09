"""The optimizer step for torch-held weights runs in torch (workbench.training.torch_update)
and gives what thinc's per-parameter numpy path gives: weights, moments and averages."""
import copy

import numpy
import pytest
import torch
from thinc.api import SGD, Adam, Optimizer, PyTorchShim, RAdam, torch2xp, warmup_linear

from tests.helpers import tiny_examples
from tests.helpers.trf import build, save_tiny_bert, tiny_bert_path, trf_config, trf_weights
from workbench.models.torch_shim import TorchUpdateShim
from workbench.models.transformer.model import hf_model
from workbench.training.lr_multipliers import ScaledOptimizer
from workbench.training.torch_update import can_update


def tiny_module():
    from transformers import BertModel

    module = BertModel.from_pretrained(str(tiny_bert_path()), local_files_only=True)
    module.train()
    return module


def scaled(optimizer, scales):
    """A ScaledOptimizer holding `optimizer`'s state; scales: {key: lr_scale}."""
    out = ScaledOptimizer.__new__(ScaledOptimizer)
    for slot in Optimizer.__slots__:
        setattr(out, slot, getattr(optimizer, slot))
    out.lr_scales = dict(scales)
    return out


def run_both(make_optimizer, n_steps=6, scale=None, frozen=(), seed=0, averages_seeded=False):
    """N steps of the same gradients through TorchUpdateShim (torch path) and thinc's
    PyTorchShim (numpy path), each with its own optimizer; returns both sides."""
    module = tiny_module()
    for name, p in module.named_parameters():
        if any(name.startswith(f) for f in frozen):
            p.requires_grad_(False)
    sides = []
    for shim_type in (TorchUpdateShim, PyTorchShim):
        m = copy.deepcopy(module)
        shim = shim_type(m)
        opt = make_optimizer()
        if scale:
            opt = scaled(opt, {(shim.id, name): f for name, f in scale.items()})
        if averages_seeded and opt.averages is not None:
            for name, p in m.named_parameters():
                opt.averages[(shim.id, name)] = torch2xp(p.detach()).copy()
        sides.append((shim, m, opt))
    gen = torch.Generator().manual_seed(seed)
    names = [n for n, p in module.named_parameters() if p.requires_grad and "pooler" not in n]  # pooler: no gradient
    for step in range(n_steps):
        grads = {n: torch.randn(dict(module.named_parameters())[n].shape, generator=gen) * (0.5 + step) for n in names}
        for shim, m, opt in sides:
            params = dict(m.named_parameters())
            for n, g in grads.items():
                params[n].grad = g.clone()
            shim.finish_update(opt)
            opt.step_schedules()
    return sides


def assert_same(sides, rtol=2e-5, atol=2e-6, torch_path=True):
    (shim_t, m_t, opt_t), (shim_n, m_n, opt_n) = sides
    p_n = dict(m_n.named_parameters())
    for name, p in m_t.named_parameters():
        numpy.testing.assert_allclose(p.detach().numpy(), p_n[name].detach().numpy(), rtol=rtol, atol=atol, err_msg=name)
        if p.requires_grad and "pooler" not in name:
            assert float(p_n[name].grad.abs().max()) == 0.0  # thinc zeroes the gradients
            assert p.grad is None if torch_path else float(p.grad.abs().max()) == 0.0  # the torch path releases them
            k_t, k_n = (shim_t.id, name), (shim_n.id, name)
            assert opt_t.nr_update[k_t] == opt_n.nr_update[k_n]
            for table in ("mom1", "mom2"):
                a, b = getattr(opt_t, table).get(k_t), getattr(opt_n, table).get(k_n)
                assert (a is None) == (b is None), (table, name)
                if a is not None:
                    assert type(a) is type(b) and a.shape == b.shape
                    numpy.testing.assert_allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(abs(b).max())), err_msg=f"{table} {name}")
            if opt_n.averages is not None:
                a, b = opt_t.averages[k_t], opt_n.averages[k_n]
                assert type(a) is type(b) and a.shape == b.shape
                numpy.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"averages {name}")
        else:  # frozen or without a gradient: untouched, no state
            assert (shim_t.id, name) not in opt_t.mom1 and opt_t.nr_update.get((shim_t.id, name), 0) == 0


def moved(sides):
    """How far the torch path moved the weights from the start (the test must see a change)."""
    start = dict(tiny_module().named_parameters())
    return max(float((p.detach() - start[n].detach()).abs().max()) for n, p in sides[0][1].named_parameters())


@pytest.mark.parametrize(
    "make_optimizer",
    [
        pytest.param(lambda: Adam(0.01, L2=0.0, grad_clip=0.0, use_averages=False), id="adam-plain"),
        pytest.param(lambda: Adam(0.01, L2=0.01, grad_clip=1.0, use_averages=False), id="adam-weight-decay-clip"),
        pytest.param(lambda: Adam(0.01, L2=0.01, L2_is_weight_decay=False, grad_clip=0.5, use_averages=False), id="adam-L2-into-gradient"),
        pytest.param(lambda: Adam(0.003, beta1=0.8, beta2=0.99, eps=1e-4, grad_clip=2.0, use_averages=True), id="adam-betas-eps-averages"),
        pytest.param(lambda: Adam(warmup_linear(0.02, 2, 10), L2=0.01, grad_clip=1.0, use_averages=True), id="adam-schedule"),
        pytest.param(lambda: Adam(0.05, L2=0.5, grad_clip=1.0, use_averages=False), id="adam-strong-weight-decay"),
        pytest.param(lambda: Adam(0.5, L2=3.0, grad_clip=0.0, use_averages=False), id="adam-odd-weight-decay"),
        pytest.param(lambda: SGD(0.01, L2=0.001, grad_clip=1.0, use_averages=True), id="sgd"),
    ],
)
def test_torch_path_gives_thincs_weights_moments_and_averages(make_optimizer):
    sides = run_both(make_optimizer)
    assert moved(sides) > 1e-3
    assert_same(sides)


def test_lr_scale_per_parameter_is_honoured():
    scale = {"embeddings.word_embeddings.weight": 0.0, "encoder.layer.0.attention.self.query.weight": 5.0}
    sides = run_both(lambda: Adam(0.01, L2=0.01, grad_clip=1.0, use_averages=True), scale=scale)
    assert_same(sides)
    emb = dict(sides[0][1].named_parameters())["embeddings.word_embeddings.weight"]
    start = dict(tiny_module().named_parameters())["embeddings.word_embeddings.weight"]
    assert torch.equal(emb.detach(), start.detach())  # lr_scale 0: unchanged


def test_frozen_weights_and_seeded_averages():
    sides = run_both(lambda: Adam(0.01, grad_clip=1.0, use_averages=True), frozen=("embeddings.",), averages_seeded=True)
    assert_same(sides)
    emb_t = dict(sides[0][1].named_parameters())["embeddings.word_embeddings.weight"]
    assert emb_t.grad is None and torch.equal(emb_t.detach(), dict(tiny_module().named_parameters())["embeddings.word_embeddings.weight"].detach())


def test_a_late_parameter_gets_its_own_update_count():
    """A parameter that first gets a gradient at step 3 is bias-corrected from its own t = 1."""
    module = tiny_module()
    sides = []
    for shim_type in (TorchUpdateShim, PyTorchShim):
        m = copy.deepcopy(module)
        sides.append((shim_type(m), m, Adam(0.01, use_averages=True)))
    gen = torch.Generator().manual_seed(1)
    late = "encoder.layer.1.output.dense.weight"
    for step in range(5):
        grads = {n: torch.randn(p.shape, generator=gen) for n, p in module.named_parameters()
                 if "pooler" not in n and (n != late or step >= 2)}
        for shim, m, opt in sides:
            params = dict(m.named_parameters())
            for n, g in grads.items():
                params[n].grad = g.clone()
            shim.finish_update(opt)
    assert sides[0][2].nr_update[(sides[0][0].id, late)] == 3
    assert_same(sides)


def test_settings_the_torch_path_refuses_take_thincs_path():
    module = tiny_module()
    params = [(n, p) for n, p in module.named_parameters()]
    for p in module.parameters():
        p.grad = torch.ones_like(p)
    assert can_update(Adam(0.01), params)
    assert not can_update(RAdam(0.01), params)  # use_radam
    assert not can_update(Optimizer(0.01, beta1=0.0, beta2=0.9), params)  # thinc raises for it itself

    class MyOptimizer(Optimizer):
        __slots__ = []

    assert not can_update(MyOptimizer(0.01), params)  # its __call__ may differ
    half = copy.deepcopy(module).half()
    for p in half.parameters():
        p.grad = torch.ones_like(p)
    assert not can_update(Adam(0.01), list(half.named_parameters()))
    # and the fallback is thinc's path itself: RAdam through both shims gives one result
    sides = run_both(lambda: RAdam(0.01, use_averages=True), n_steps=7)
    assert moved(sides) > 1e-4
    assert_same(sides, torch_path=False)


def test_fine_tuning_through_the_pipeline_learns_and_averages_are_used():
    """The transformer's shim is a TorchUpdateShim; training lowers the loss, and
    use_params(optimizer.averages) swaps in the averages the torch path keeps."""
    from thinc.api import fix_random_seed

    fix_random_seed(0)
    nlp, examples = build(trf_config(tiny_bert_path(), ner=False))
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(shim, TorchUpdateShim)
    sgd = Adam(0.005, use_averages=True)
    before = trf_weights(nlp)
    losses = [nlp.update(examples, sgd=sgd)["tagger"] for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    after = trf_weights(nlp)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    module = hf_model(nlp.get_pipe("transformer").model)
    key = (shim.id, "encoder.layer.0.attention.self.query.weight")
    assert key in sgd.averages and key in sgd.mom1 and sgd.nr_update[key] == 30
    with nlp.use_params(sgd.averages):
        swapped = module.get_parameter(key[1]).detach().numpy()
        numpy.testing.assert_array_equal(swapped, sgd.averages[key])
    assert torch.equal(module.get_parameter(key[1]).detach(), after[key[1]])


def test_mixed_precision_overflow_skips_the_step():
    """found_inf (GPU mixed precision): gradients zeroed, weights and state untouched, as thinc."""
    module = tiny_module()
    shim = TorchUpdateShim(module)
    shim._grad_scaler._found_inf = True
    shim._grad_scaler.update = lambda: None  # the scaler of a CPU run is disabled; only the skip is under test
    start = {n: p.detach().clone() for n, p in module.named_parameters()}
    for p in module.parameters():
        p.grad = torch.ones_like(p)
    opt = Adam(0.01)
    shim.finish_update(opt)
    assert all(torch.equal(p.detach(), start[n]) for n, p in module.named_parameters())
    assert all(p.grad is None for p in module.parameters())
    assert not opt.mom1 and not opt.nr_update


def test_saved_pipeline_loads_with_the_torch_shim(tmp_path):
    import workbench

    nlp, examples = build(trf_config(save_tiny_bert(tmp_path / "bert"), ner=False))
    sgd = Adam(0.01, use_averages=False)
    nlp.update(examples, sgd=sgd)
    nlp.to_disk(tmp_path / "out")
    loaded = workbench.load(tmp_path / "out")
    assert isinstance(loaded.get_pipe("transformer").model.layers[0].shims[0], TorchUpdateShim)
    for k, v in trf_weights(nlp).items():
        assert torch.equal(v, trf_weights(loaded)[k])
    loaded.update(tiny_examples(loaded), sgd=Adam(0.01))  # and trains on
