"""Networks in chip register units: neurons, input channels, projections.

A :class:`Network` is what a chip core holds: ``n`` neurons with their
parameter registers (named as in the profile's ``[params]`` table), ``n_in``
input channels, and projections from input channels or neurons onto neurons.
Projections are ``dense`` (a weight matrix), ``sparse`` (CSR) or
``all_to_all`` (one weight: counting the spikes gives the same integers as a
dense matrix of equal weights, in O(P) per tick).  Weights are in the chip's
weight register units *before* the toolchain's quantisation; the profile's
weight rules (:func:`quantize_weights`) are applied when the network is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from emulator.profile import Profile
from reference.errors import InputError

__all__ = ["Network", "NetworkError", "Projection", "quantize_weights"]

PROJECTION_KINDS = ("dense", "sparse", "all_to_all")
SOURCES = ("input", "neurons")


class NetworkError(InputError):
    """A network, scenario or vectors file does not fit the profile."""


@dataclass(frozen=True)
class Projection:
    """Synapses from a range of sources onto a range of neurons.

    Parameters
    ----------
    source : {"input", "neurons"}
        Input channels or the network's own neurons (recurrent).
    kind : {"dense", "sparse", "all_to_all"}
    weights : ndarray or scipy.sparse matrix or int
        ``dense``: int array (n_post, n_pre); ``sparse``: a scipy.sparse matrix
        (n_post, n_pre); ``all_to_all``: one integer weight.  Register units,
        before the profile's weight quantisation.
    pre, post : (int, int)
        Half-open index ranges of the sources and the target neurons.
    synapse : int
        Synaptic compartment of the targets (profiles with several).
    exponent : int
        The projection's weight exponent register (``weight_exp`` on Loihi,
        ``weight_shift`` on Xylo).
    delay : int or None
        Ticks from the spike to its effect; ``None`` takes the profile's.
    """

    source: str
    kind: str
    weights: Any
    pre: tuple[int, int]
    post: tuple[int, int]
    synapse: int = 0
    exponent: int = 0
    delay: int | None = None

    def dense(self) -> np.ndarray:
        """Return the weights as a dense int64 array (n_post, n_pre)."""
        n_pre, n_post = self.pre[1] - self.pre[0], self.post[1] - self.post[0]
        if self.kind == "all_to_all":
            return np.full((n_post, n_pre), int(self.weights), dtype=np.int64)
        if self.kind == "sparse":
            return np.asarray(self.weights.toarray(), dtype=np.int64)
        return np.asarray(self.weights, dtype=np.int64)


@dataclass(frozen=True)
class Network:
    """A chip core's network in register units.

    Parameters
    ----------
    n : int
        Number of neurons.
    n_in : int
        Number of input channels.
    params : mapping of str to int or ndarray
        Parameter registers by profile name; scalars or per-neuron (n,) or
        per-synapse (n, n_syn) arrays.  Missing ones take the profile default.
    projections : tuple of Projection
    init : mapping of str to ndarray
        Initial state registers (absent = zero).
    noise : bool
        Switch on the profile's noise source (kind from the profile, or
        ``noise_kind`` here to choose one).
    noise_kind : str or None
    """

    n: int
    n_in: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    projections: tuple[Projection, ...] = ()
    init: Mapping[str, Any] = field(default_factory=dict)
    noise: bool = False
    noise_kind: str | None = None
    file: str | None = None

    def check(self, profile: Profile) -> None:
        """Raise :class:`NetworkError` where the network does not fit ``profile``."""
        f = self.file
        if not isinstance(self.n, (int, np.integer)) or self.n <= 0:
            raise NetworkError("neuron count must be positive", file=f, key="n", value=self.n,
                               allowed="an integer >= 1")
        if self.n_in < 0:
            raise NetworkError("input count must be >= 0", file=f, key="n_in", value=self.n_in)
        n_syn = synapses_per_neuron(profile)
        for name, value in self.params.items():
            if name not in profile.params:
                raise NetworkError(f"not a register of profile {profile.name!r}", file=f,
                                   key=f"params.{name}", value=_short(value),
                                   allowed=", ".join(profile.params))
            spec = profile.params[name]
            arr = np.asarray(value)
            if not np.issubdtype(arr.dtype, np.integer):
                raise NetworkError("register values must be integers", file=f,
                                   key=f"params.{name}", value=_short(value))
            shapes = {(), (1,)}
            if spec.scope in ("neuron", "synapse"):
                shapes |= {(self.n,)}
            if spec.scope == "synapse":
                shapes |= {(self.n, n_syn)}
            if arr.shape not in shapes:
                raise NetworkError("wrong shape", file=f, key=f"params.{name}",
                                   value=f"array of shape {arr.shape}",
                                   allowed=" or ".join(str(s) for s in sorted(shapes)))
            lo, hi = spec.range
            if arr.size and (arr.min() < lo or arr.max() > hi):
                bad = arr.min() if arr.min() < lo else arr.max()
                raise NetworkError(f"does not fit the {spec.bits}-bit register", file=f,
                                   key=f"params.{name}", value=int(bad), allowed=f"{lo}..{hi}")
        for k, p in enumerate(self.projections):
            key = f"projections[{k}]"
            if p.source not in SOURCES:
                raise NetworkError("unknown source", file=f, key=f"{key}.source",
                                   value=p.source, allowed=", ".join(SOURCES))
            if p.kind not in PROJECTION_KINDS:
                raise NetworkError("unknown projection kind", file=f, key=f"{key}.kind",
                                   value=p.kind, allowed=", ".join(PROJECTION_KINDS))
            n_src = self.n_in if p.source == "input" else self.n
            for what, (a, b), top in (("pre", p.pre, n_src), ("post", p.post, self.n)):
                if not 0 <= a < b <= top:
                    raise NetworkError("index range outside the population", file=f,
                                       key=f"{key}.{what}", value=(a, b),
                                       allowed=f"0 <= start < stop <= {top}")
            shape = (p.post[1] - p.post[0], p.pre[1] - p.pre[0])
            if p.kind != "all_to_all" and tuple(np.shape(p.weights)) != shape:
                raise NetworkError("weight matrix has the wrong shape", file=f,
                                   key=f"{key}.weights", value=f"shape {np.shape(p.weights)}",
                                   allowed=f"(n_post, n_pre) = {shape}")
            if not 0 <= p.synapse < n_syn:
                raise NetworkError("no such synapse", file=f, key=f"{key}.synapse",
                                   value=p.synapse, allowed=f"0..{n_syn - 1}")
            exp_spec = profile.params[profile.weights["exponent"]]
            if not exp_spec.range[0] <= p.exponent <= exp_spec.range[1]:
                raise NetworkError("weight exponent does not fit its register", file=f,
                                   key=f"{key}.exponent", value=p.exponent,
                                   allowed="%d..%d" % exp_spec.range)
            if p.delay is not None and not 0 <= p.delay <= 64:
                raise NetworkError("delay out of range", file=f, key=f"{key}.delay",
                                   value=p.delay, allowed="0..64")
            if p.source == "neurons" and p.delay == 0:
                raise NetworkError("a recurrent projection needs a delay >= 1", file=f,
                                   key=f"{key}.delay", value=0, allowed="1..64")
            if profile.weights["format"] == "int_shift":
                wb = profile.weights["bits"]
                lo, hi = -(1 << (wb - 1)), (1 << (wb - 1)) - 1
                wmin, wmax = _wrange(p)
                if wmin < lo or wmax > hi:
                    raise NetworkError(f"weight does not fit the {wb}-bit weight register",
                                       file=f, key=f"{key}.weights",
                                       value=wmin if wmin < lo else wmax, allowed=f"{lo}..{hi}")
        for name, value in self.init.items():
            if name not in profile.state:
                raise NetworkError("not a state register", file=f, key=f"init.{name}",
                                   value=_short(value), allowed=", ".join(profile.state))


def _wrange(p: Projection) -> tuple[int, int]:
    if p.kind == "all_to_all":
        return int(p.weights), int(p.weights)
    data = p.weights.data if p.kind == "sparse" else np.asarray(p.weights)
    if data.size == 0:
        return 0, 0
    return int(data.min()), int(data.max())


def _short(value: Any) -> Any:
    arr = np.asarray(value)
    return value if arr.ndim == 0 else f"array of shape {arr.shape}"


def synapses_per_neuron(profile: Profile) -> int:
    """Synaptic compartments (or axon types) a projection can target on this profile."""
    return max([s.synapses for s in profile.state.values()] + [profile.weights.get("types", 1)])


def quantize_weights(profile: Profile, weights: np.ndarray) -> np.ndarray:
    """Apply the chip toolchain's weight quantisation to an int array.

    ``loihi``: Lava's sign mode (all >= 0 excitatory, all <= 0 inhibitory,
    else mixed), ``clip_weights`` to 8 bits and ``truncate_weights`` (mixed
    weights lose their LSB: ``(w >> 1) << 1``, floor).  ``int_shift``: the
    weights are used as they are (range checked by :meth:`Network.check`).
    """
    w = np.asarray(weights, dtype=np.int64)
    if profile.weights["format"] != "loihi":
        return w.copy()
    bits = profile.weights["bits"]
    if w.size == 0 or (w >= 0).all():
        return np.clip(w, 0, (1 << bits) - 1)
    if (w <= 0).all():
        return -np.clip(-w, 0, (1 << bits) - 1)
    w = np.clip(w, -(1 << bits), (1 << bits) - 1)
    return (w >> 1) << 1
