"""Optimizer hyperparameters: checked in the constructor with messages that name them."""

import numpy as np
import pytest

import dlprimer as dp


@pytest.mark.parametrize("kwargs, message", [
    (dict(history=-1), "history .* must be a positive integer, got -1"),
    (dict(history=0), "history"),
    (dict(history=2.5), "history .* got 2.5"),
    (dict(history="5"), "history .* got '5'"),
    (dict(history=True), "history"),
    (dict(max_iter=0), "max_iter must be a positive integer"),
    (dict(max_iter=10.0), "max_iter"),
    (dict(max_iter=None), "max_iter"),
    (dict(tol=0), "tol"),
    (dict(tol=np.nan), "tol must be a finite number"),
    (dict(ftol=-1e-9), "ftol"),
])
def test_lbfgs_rejects_bad_arguments_in_its_constructor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dp.optim.LBFGS(**kwargs)


def test_lbfgs_accepts_numpy_numbers():
    opt = dp.optim.LBFGS(max_iter=np.int64(50), history=np.int32(5), tol=np.float32(1e-5))
    assert (opt.max_iter, opt.history) == (50, 5)
    assert type(opt.max_iter) is int and type(opt.history) is int
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    history = dp.fit(dp.SigmoidModel(1), X, [0, 0, 1, 1], optimizer=opt, epochs=20,
                     progress=False)
    assert np.isfinite(history.loss[-1])


@pytest.mark.parametrize("name, kwargs", [
    ("GradientDescent", dict(lr=np.float32(0.1))),
    ("SGD", dict(lr=np.float64(0.1), momentum=np.float64(0.9))),
    ("Adam", dict(lr=np.int64(1), beta1=np.float64(0.5))),
])
def test_step_size_optimizers_accept_numpy_numbers(name, kwargs):
    opt = getattr(dp.optim, name)(**kwargs)
    assert all(type(getattr(opt, key)) is float for key in kwargs)


# ------------------------------------------- PyTorch's way: Opt(params, ...), a loop of one's own

torch = pytest.importorskip("torch")

#: name → (our optimizer, torch's), both from (params, the rest as keywords)
PARITY = {
    "gd": (lambda p: dp.optim.GradientDescent(p, lr=0.3),
           lambda p: torch.optim.SGD(p, lr=0.3)),
    "sgd": (lambda p: dp.optim.SGD(p, lr=0.2),
            lambda p: torch.optim.SGD(p, lr=0.2)),
    "momentum": (lambda p: dp.optim.SGD(p, lr=0.1, momentum=0.9),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "nesterov": (lambda p: dp.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    "sgd_weight_decay": (lambda p: dp.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.05),
                         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.05)),
    "adam": (lambda p: dp.optim.Adam(p, lr=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_settings": (lambda p: dp.optim.Adam(p, lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6,
                                              weight_decay=0.1),
                      lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                                 weight_decay=0.1)),
}
# N hidden units of a tanh layer on p features: W (N, p), b (N,). 3 × 4 + 3 = 15 entries are
# updated as one vector; 200 × 200 + 200 = 40 200 > Optimizer.FLAT_MAX parameter by parameter.
SIZES = {"small, one flat vector": (3, 4), "large, per parameter": (200, 200)}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(PARITY))
def test_hand_written_loop_matches_pytorch_step_by_step(name, size):
    N, p = SIZES[size]
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((16, p)), rng.standard_normal((16, N))
    W0, b0 = 0.3 * rng.standard_normal((N, p)), rng.standard_normal(N)
    d = W0.size + b0.size
    assert (d > dp.optim.Optimizer.FLAT_MAX) == (size == "large, per parameter")

    # copies: a float64 array becomes a Tensor's data as it is, and steps are in place
    W, b = dp.Tensor(W0.copy(), requires_grad=True), dp.Tensor(b0.copy(), requires_grad=True)
    Wt = torch.tensor(W0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True)
    ours, theirs = PARITY[name][0]([W, b]), PARITY[name][1]([Wt, bt])
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(6):
        ours.zero_grad()
        loss = (((dp.Tensor(X) @ W.T + b).tanh() - dp.Tensor(Y)) ** 2).mean()
        loss.backward()
        ours.step()
        theirs.zero_grad()
        ref_loss = ((Xt @ Wt.T + bt).tanh() - Yt).pow(2).mean()
        ref_loss.backward()
        theirs.step()
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
        np.testing.assert_allclose(W.data, Wt.detach().numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(b.data, bt.detach().numpy(), rtol=1e-10, atol=1e-13)
    assert W.dtype == np.float64 and not np.allclose(W.data, W0)  # it moved, in float64
    assert ours.t == 6


def test_zero_grad_forgets_every_gradient():
    w, v = dp.Tensor([1.0, 2.0], requires_grad=True), dp.Tensor([3.0], requires_grad=True)
    opt = dp.optim.Adam([w, v], lr=0.1)
    (w.sum() * v.sum()).backward()
    assert w.grad is not None and v.grad is not None
    opt.zero_grad()
    assert w.grad is None and v.grad is None


def test_parameters_given_either_way_take_the_same_steps():
    # Opt(params, lr=...), Opt(lr=...) then setup, and the older Opt(lr): one trajectory.
    thetas = []
    for build in (lambda w: dp.optim.SGD([w], lr=0.1, momentum=0.5),
                  lambda w: dp.optim.SGD(lr=0.1, momentum=0.5),
                  lambda w: dp.optim.SGD(0.1, momentum=0.5)):
        w = dp.Tensor([1.0, -3.0], requires_grad=True, dtype=np.float64)
        opt = build(w)
        if not opt.params:
            opt.setup([w])
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()  # ∇ = 2w
            opt.step()
        thetas.append(w.data.copy())
    # v₁ = 2w₀, w₁ = 0.8 w₀; v₂ = 0.5 v₁ + 1.6 w₀ = 2.6 w₀, w₂ = 0.54 w₀;
    # v₃ = 1.3 w₀ + 1.08 w₀ = 2.38 w₀, w₃ = 0.302 w₀
    for theta in thetas:
        np.testing.assert_allclose(theta, [0.302, -0.906], rtol=1e-12)


def test_a_generator_of_parameters_is_accepted():
    model = dp.SigmoidModel(3)
    opt = dp.optim.Adam((p for p in model.parameters()), lr=0.01)
    assert [id(p) for p in opt.params] == [id(p) for p in model.parameters()]


def test_fit_rebinds_an_optimizer_built_with_parameters():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = dp.SigmoidModel(1)
    opt = dp.optim.Adam(model.parameters(), lr=0.1)
    history = dp.fit(model, X, [0, 0, 1, 1], optimizer=opt, epochs=5, progress=False)
    assert len(history.loss) == 5 and history.loss[-1] < history.loss[0]
    assert opt.t == 5 and [id(p) for p in opt.params] == [id(p) for p in model.parameters()]


@pytest.mark.parametrize("build", [
    lambda m: dp.optim.Adam(m, lr=1e-3),
    lambda m: dp.optim.SGD(m, lr=0.1, momentum=0.9),
    lambda m: dp.optim.GradientDescent(m),
    lambda m: dp.optim.Adam(lr=1e-3).setup(m),
])
def test_a_model_instead_of_its_parameters_says_what_to_pass(build):
    model = dp.FeedForward([4, 3, 1])
    with pytest.raises(TypeError, match=r"got the model itself \(FeedForward\); pass "
                                        r"model\.parameters\(\)"):
        build(model)


@pytest.mark.parametrize("params, error, message", [
    ("not a list", TypeError, "needs a list of parameter Tensors .* got str"),
    ({"params": []}, TypeError, "parameter groups are not supported"),
    (object(), TypeError, "needs a list of parameter Tensors .* got object"),
    ([np.ones(3)], TypeError, "parameter 0 is a ndarray, not a Tensor"),
    ([dp.Tensor([1.0], requires_grad=True), dp.Tensor([2.0])], ValueError,
     r"parameter 1 \(shape \(1,\)\) has requires_grad=False"),
])
def test_bad_parameter_lists_are_refused(params, error, message):
    with pytest.raises(error, match=message):
        dp.optim.SGD(params, lr=0.1)


def test_one_tensor_must_come_in_a_list():
    with pytest.raises(TypeError, match=r"one Tensor of shape \(2,\); put it in a list"):
        dp.optim.Adam(dp.Tensor([1.0, 2.0], requires_grad=True), lr=0.1)


def test_positional_hyperparameters_after_a_number_are_refused():
    with pytest.raises(TypeError, match=r"SGD\(0.1, 0.9\): the first argument is the "
                                        "parameter list"):
        dp.optim.SGD(0.1, 0.9)


def test_step_without_parameters_says_how_to_give_them():
    with pytest.raises(RuntimeError, match=r"no parameters .* Adam\(model\.parameters\(\)"):
        dp.optim.Adam(lr=1e-3).step()


@pytest.mark.parametrize("args", [([dp.Tensor([1.0], requires_grad=True)],), (100,)])
def test_lbfgs_refuses_a_parameter_list(args):
    with pytest.raises(TypeError, match="LBFGS takes no parameter list.*run by dp.fit"):
        dp.optim.LBFGS(*args)


@pytest.mark.parametrize("name, cls, lr", [
    ("gd", dp.optim.GradientDescent, 0.1), ("sgd", dp.optim.SGD, 0.05),
    ("adam", dp.optim.Adam, 0.001),
])
def test_by_name_builds_each_optimizer_with_its_default_learning_rate(name, cls, lr):
    opt = dp.optim.by_name(name)
    assert type(opt) is cls and opt.lr == lr
    assert dp.optim.by_name(name, lr=0.5).lr == 0.5


def test_by_name_passes_settings_and_refuses_what_does_not_apply():
    sgd = dp.optim.by_name("sgd", 0.2, momentum=0.9, nesterov=True)
    assert (sgd.lr, sgd.momentum, sgd.nesterov) == (0.2, 0.9, True)
    lbfgs = dp.optim.by_name("lbfgs", max_iter=7)
    assert type(lbfgs) is dp.optim.LBFGS and lbfgs.max_iter == 7
    assert dp.optim.NAMES == ("gd", "sgd", "adam", "lbfgs")
    with pytest.raises(ValueError, match="lr does not apply to 'lbfgs'"):
        dp.optim.by_name("lbfgs", lr=0.1)
    with pytest.raises(ValueError, match=r"optimizer must be one of \('gd', 'sgd', 'adam', "
                                         r"'lbfgs'\), got 'newton'"):
        dp.optim.by_name("newton")
    with pytest.raises(TypeError, match="momentum"):
        dp.optim.by_name("adam", momentum=0.9)
    with pytest.raises(ValueError, match="weight_decay"):
        dp.optim.by_name("adam", weight_decay=-1.0)
