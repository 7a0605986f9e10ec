"""The notes' networks ported to JAX: pure forward and train-step functions with explicit state,
built from an already-constructed torch workload so both frameworks start from equal weights.

Parameters live in one flat tuple in ``work.module.parameters()`` order, in torch's layouts
(``nn.Linear`` weight ``(out, in)``, the raw MLP's ``w1 (in, hidden)``) except where a port's
``Layout`` (``models.jax_layout``) says otherwise: the CNN runs channels-last, its weights and
inputs converted once when copied from torch, its parameters converted back by
``params_in_torch_order``. The state of a train step is ``(params, opt_state)``, as in optax's
examples. Each workload class names its port function here (``Workload.jax_port``); ``port``
builds the program from it. Nothing here times or jits; ``bench.backends.jax_backends`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from torch import nn

from models.jax_layout import CONV_DIMS, TORCH_LAYOUT, Layout, channels_last_cnn
from models.tensor_ops import UNSUPPORTED
from models.workload import Workload

Params = tuple[jax.Array, ...]  # torch's parameters() order; shapes in the port's Layout
State = tuple[Params, Any]  # (params, optax optimizer state; () for the hand-written update)
Forward = Callable[[Params, jax.Array], jax.Array]
TrainStep = Callable[[State, jax.Array, jax.Array, jax.Array], tuple[State, jax.Array]]
Parts = tuple[Forward, TrainStep, optax.GradientTransformation | None]  # None: by hand


@dataclass(frozen=True)
class JaxProgram:
    """One workload in JAX: its initial parameters, its fixed batch and two pure functions.

    ``forward(params, x)``: eval mode (no dropout), ``x (B, ...)`` -> ``(B, n_out)``; ``params``
    and ``x`` in the port's ``layout``.
    ``train_step(state, x, y, key)`` -> ``(state, loss ())``: one update, pure; ``key`` draws
    the dropout mask (unused by the MLPs). ``batch`` is ``(x, y)``: the MLPs' ``x (B, I)``,
    ``y (B, O)`` float32; the CNN's ``x (B, 28, 28, 1)`` float32, ``y (B,)`` int32 labels
    (int64 with ``jax_enable_x64``); ``tensor_ops``' ``x (n, n)``, ``y (n,)``. ``section`` is
    the notes' heading, the workload's own. ``precision`` is ``(matmul, conv)``, as given to
    ``port``.
    """

    name: str
    section: str
    params: Params
    batch: tuple[jax.Array, jax.Array]
    forward: Forward
    train_step: TrainStep
    optimizer: optax.GradientTransformation | None  # None: the hand-derived SGD update
    precision: tuple[str, str]
    layout: Layout = TORCH_LAYOUT

    def init_state(self) -> State:
        """``(params, opt_state)`` before the first step."""
        opt_state = () if self.optimizer is None else self.optimizer.init(self.params)
        return self.params, opt_state

    def params_in_torch_order(self, state: State) -> list[np.ndarray]:
        """The parameters of ``state`` as numpy arrays, in torch's order, shapes and layouts."""
        return [self.layout.to_torch(i, np.asarray(p)) for i, p in enumerate(state[0])]


def _dense(x: jax.Array, w: jax.Array, b: jax.Array, prec: str) -> jax.Array:
    """``nn.Linear``: ``x (B, in)``, ``w (out, in)``, ``b (out,)`` -> ``(B, out)``."""
    return jnp.matmul(x, w.T, precision=prec) + b


def _conv(x: jax.Array, w: jax.Array, b: jax.Array, prec: str) -> jax.Array:
    """``nn.Conv2d(3x3, stride 1, padding 1)`` channels-last: ``x (B, H, W, I)``,
    ``w (3, 3, I, O)``, ``b (O,)`` -> ``(B, H, W, O)``."""
    out = lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)),
                                   dimension_numbers=CONV_DIMS, precision=prec)
    return out + b


def _max_pool2(x: jax.Array) -> jax.Array:
    """``nn.MaxPool2d(2, stride 2)`` channels-last: ``(B, H, W, C)`` -> ``(B, H//2, W//2, C)``."""
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def dropout(h: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Inverted dropout like ``nn.Dropout`` in train mode: zero with probability ``rate``,
    scale the rest by ``1 / (1 - rate)``. The identity when ``rate == 0`` or ``key`` is None."""
    if rate == 0.0 or key is None:
        return h
    keep = jax.random.bernoulli(key, 1.0 - rate, h.shape)
    return jnp.where(keep, h / (1.0 - rate), jnp.zeros_like(h))


def two_layer_forward(params: Params, x: jax.Array, prec: str) -> jax.Array:
    """``relu(x @ w1) @ w2``: ``x (B, I)``, ``w1 (I, H)``, ``w2 (H, O)`` -> ``(B, O)``."""
    w1, w2 = params
    h = jax.nn.relu(jnp.matmul(x, w1, precision=prec))  # (B, H)
    return jnp.matmul(h, w2, precision=prec)  # (B, O)


def sequential_forward(params: Params, x: jax.Array, prec: str) -> jax.Array:
    """``Linear -> ReLU -> Linear``: ``x (B, I)``, params ``(w1 (H, I), b1 (H,), w2 (O, H),
    b2 (O,))`` -> ``(B, O)``."""
    w1, b1, w2, b2 = params
    h = jax.nn.relu(_dense(x, w1, b1, prec))  # (B, H)
    return _dense(h, w2, b2, prec)  # (B, O)


def cnn_forward(params: Params, x: jax.Array, prec: tuple[str, str], rate: float = 0.0,
                key: jax.Array | None = None) -> jax.Array:
    """``MnistNet`` channels-last (``channels_last_cnn``): ``x (B, 28, 28, 1)`` -> logits
    ``(B, 10)``; params ``(c1w (3, 3, 1, 64), c1b, c2w (3, 3, 64, 128), c2b, d1w (1024, 25088)
    in (H, W, C) column order, d1b, d2w (10, 1024), d2b)``. Dropout with ``rate`` only when
    ``key`` is given (train mode)."""
    c1w, c1b, c2w, c2b, d1w, d1b, d2w, d2b = params
    mm, conv = prec
    h = jax.nn.relu(_conv(x, c1w, c1b, conv))  # (B, 28, 28, 64)
    h = _max_pool2(jax.nn.relu(_conv(h, c2w, c2b, conv)))  # (B, 14, 14, 128)
    h = h.reshape(h.shape[0], 14 * 14 * 128)  # (B, 25088), H, W, C order: d1w's columns
    h = dropout(jax.nn.relu(_dense(h, d1w, d1b, mm)), rate, key)  # (B, 1024)
    return _dense(h, d2w, d2b, mm)  # (B, 10)


def manual_train_step(lr: float, prec: str) -> TrainStep:
    """SGD on ``sum((relu(x @ w1) @ w2 - y) ** 2)`` with the gradients derived by hand, as
    ``models.mlp.manual_grads`` (ReLU's derivative is the mask ``h > 0``); no ``jax.grad``."""
    def step(state: State, x: jax.Array, y: jax.Array, key: jax.Array) -> tuple[State, jax.Array]:
        (w1, w2), opt_state = state
        h = jnp.matmul(x, w1, precision=prec)  # (B, H)
        h_relu = jnp.maximum(h, 0.0)  # (B, H)
        diff = jnp.matmul(h_relu, w2, precision=prec) - y  # (B, O)
        loss = jnp.sum(diff**2)
        grad_y_pred = 2.0 * diff  # (B, O)
        grad_w2 = jnp.matmul(h_relu.T, grad_y_pred, precision=prec)  # (H, O)
        grad_h = jnp.matmul(grad_y_pred, w2.T, precision=prec) * (h > 0).astype(h.dtype)
        grad_w1 = jnp.matmul(x.T, grad_h, precision=prec)  # (I, H)
        return ((w1 - lr * grad_w1, w2 - lr * grad_w2), opt_state), loss

    return step


def grad_train_step(loss_of: Callable[..., jax.Array],
                    optimizer: optax.GradientTransformation) -> TrainStep:
    """One ``optimizer`` update on the gradient of ``loss_of(params, x, y, key)`` (jax.grad)."""
    def step(state: State, x: jax.Array, y: jax.Array, key: jax.Array) -> tuple[State, jax.Array]:
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_of)(params, x, y, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def _two_layer(prec: tuple[str, str]) -> Forward:
    """The raw MLPs' forward at ``prec``'s matmul precision."""
    def forward(params: Params, x: jax.Array) -> jax.Array:
        return two_layer_forward(params, x, prec[0])

    return forward


def manual_mlp_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``manual_mlp`` (notes: 第一个神经网络): hand-derived gradients, plain SGD."""
    return _two_layer(prec), manual_train_step(work.lr, prec[0]), None


def autograd_mlp_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``autograd_mlp`` (notes: 自动梯度): ``jax.grad`` of the sum-of-squares loss, plain SGD."""
    forward = _two_layer(prec)

    def sum_sq(params: Params, x: jax.Array, y: jax.Array, key: jax.Array) -> jax.Array:
        return jnp.sum((forward(params, x) - y) ** 2)

    opt = optax.sgd(work.lr)
    return forward, grad_train_step(sum_sq, opt), opt


def _sequential(prec: tuple[str, str], opt: optax.GradientTransformation) -> Parts:
    """The ``nn.Sequential`` MLPs: ``MSELoss`` (mean over ``B * O``) updated by ``opt``."""
    def forward(params: Params, x: jax.Array) -> jax.Array:
        return sequential_forward(params, x, prec[0])

    def mse(params: Params, x: jax.Array, y: jax.Array, key: jax.Array) -> jax.Array:
        return jnp.mean((forward(params, x) - y) ** 2)

    return forward, grad_train_step(mse, opt), opt


def sequential_sgd_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``sequential_sgd`` (notes: torch.nn): ``optax.sgd``."""
    return _sequential(prec, optax.sgd(work.lr))


def sequential_adam_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``sequential_adam`` (notes: torch.optim): ``adam``."""
    return _sequential(prec, adam(work.lr))


def mnist_cnn_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``mnist_cnn`` (notes: 向计算机视觉出击—MNIST): mean cross-entropy on integer labels,
    Adam, and the dropout rate the torch module has now."""
    rate = dropout_rate(work.module)

    def forward(params: Params, x: jax.Array) -> jax.Array:
        return cnn_forward(params, x, prec)

    def xent(params: Params, x: jax.Array, y: jax.Array, key: jax.Array) -> jax.Array:
        logits = cnn_forward(params, x, prec, rate, key)  # (B, 10)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    opt = adam(work.lr)
    return forward, grad_train_step(xent, opt), opt


LAYOUTS = {mnist_cnn_port: channels_last_cnn}  # a port not named here keeps torch's layouts


def tensor_ops_forward(params: Params, a: jax.Array, prec: str) -> jax.Array:
    """``models.tensor_ops.TensorOps``: ``a (n, n)``, params ``(b (n, n), w (n, 16),
    v (16,))`` -> ``(n,)``; the same chain, op for op."""
    b, w, v = params
    e = jnp.add(jnp.clip(a, -0.1, 0.1), 10)  # (n, n) in [9.9, 10.1]
    q = jnp.divide(e, jnp.add(jnp.abs(a), b))  # (n, n), divisor >= 0.5
    p = jnp.power(jnp.multiply(q, b), 2)  # (n, n)
    return jnp.matmul(jnp.matmul(p, w, precision=prec), v, precision=prec)  # (n,)


def tensor_ops_port(work: Workload, prec: tuple[str, str]) -> Parts:
    """``tensor_ops`` (notes: tensor运算): a forward only; nothing to train."""
    def forward(params: Params, x: jax.Array) -> jax.Array:
        return tensor_ops_forward(params, x, prec[0])

    def step(state: State, x: jax.Array, y: jax.Array, key: jax.Array) -> tuple[State, jax.Array]:
        raise NotImplementedError(UNSUPPORTED)

    return forward, step, None


def adam(lr: float) -> optax.GradientTransformation:
    """``torch.optim.Adam``'s defaults (betas 0.9, 0.999, eps 1e-8): optax, like torch, divides
    by ``sqrt(nu_hat) + eps`` (``eps_root`` 0), so only rounding differs."""
    return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0)


def dropout_rate(module: nn.Module) -> float:
    """The ``p`` of the module's ``nn.Dropout`` layers, read now (0.0 when there are none)."""
    rates = {float(m.p) for m in module.modules() if isinstance(m, nn.Dropout)}
    if len(rates) > 1:
        raise ValueError(f"one dropout rate expected, found {sorted(rates)}")
    return rates.pop() if rates else 0.0


def port(work: Workload, device: jax.Device | None = None,
         precision: tuple[str, str] = ("highest", "highest")) -> JaxProgram:
    """The JAX program of ``work``, from its current weights, batch, lr and dropout rate.

    Arrays are copied through numpy (their torch dtype; float64 needs ``jax_enable_x64``),
    converted to the port's ``Layout`` (``LAYOUTS``) and placed on ``device`` (None: JAX's
    default). ``precision`` is the ``(matmul, conv)``
    precision of float32 products ("highest": full float32; "default" allows TF32 on GPUs).
    Raises ``NotImplementedError`` (the runner's ``unsupported``) with
    ``Workload.missing_port``'s reason for a workload whose ``jax_port`` is ``None``.
    """
    make = type(work).jax_port()
    if make is None:
        raise NotImplementedError(type(work).missing_port("jax"))
    forward, step, opt = make(work, precision)
    layout = LAYOUTS.get(make, lambda: TORCH_LAYOUT)()
    params = tuple(jax.device_put(layout.to_port(i, numpy(p)), device)
                   for i, p in enumerate(work.module.parameters()))
    batch = (jax.device_put(layout.x(numpy(work.batch[0])), device),
             jax.device_put(numpy(work.batch[1]), device))
    return JaxProgram(work.name, work.section, params, batch, forward, step, opt, precision,
                      layout)


def numpy(t: Any) -> np.ndarray:
    """A torch tensor (any device) as a numpy array of its dtype, detached."""
    return t.detach().cpu().numpy()
