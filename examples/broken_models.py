"""Property-test three deliberately broken Loihi 1 models and watch hypothesis shrink them.

Each model is a plain numpy re-implementation of one ``loihi1`` tick (Lava's
bit-accurate LIF and Dense models, ``shared/notes/chips.md`` 1.3-1.5) that
follows the :class:`emulator.testing.ChipModel` protocol.  :class:`Loihi1`
is correct; each subclass changes exactly one method, i.e. carries exactly
one bug:

* :class:`FloorDecay`: the decays round with ``>>`` (floor) where the chip
  rounds toward zero (``sign(x) * (|x| >> 12)``);
* :class:`GreaterEqual`: spikes when ``v >= vth << 6`` where the chip
  compares with ``>``;
* :class:`SaturatingCurrent`: the current ``u`` saturates where the chip
  wraps it (24-bit, Lava's edge: +2**23 is kept, -2**23 becomes +2**23).

Run ``python examples/broken_models.py``: for every model it prints the
shrunk counterexample (first divergence, registers, state, input) or "ok".
The tutorial is ``docs/property_testing.md``.
"""

from __future__ import annotations

import sys

import numpy as np

from emulator.testing import ModelDivergence, assert_matches_emulator

BITS = 24
U_MAX = 1 << (BITS - 1)            # Lava's u wrap keeps +2**23 ...
U_MIN = -(1 << (BITS - 1)) + 1     # ... and maps -2**23 to +2**23: u in [-2**23 + 1, 2**23]
V_MAX = (1 << (BITS - 1)) - 1      # v saturates symmetrically at +-(2**23 - 1)


def loihi_weights(w: np.ndarray) -> np.ndarray:
    """Lava's weight quantisation: sign mode, 8-bit clip, mixed weights lose their LSB."""
    w = np.asarray(w, dtype=np.int64)
    if (w >= 0).all():
        return np.clip(w, 0, 255)
    if (w <= 0).all():
        return -np.clip(-w, 0, 255)
    return (np.clip(w, -256, 255) >> 1) << 1


class Loihi1:
    """A correct ``loihi1`` tick, one method per phase (override one to plant a bug)."""

    def reset(self, profile, network, seed):
        """Load registers (defaults where the network sets none), weights and state."""
        def reg(name):
            return np.asarray(network.params.get(name, profile.params[name].default),
                              dtype=np.int64)

        if network.noise or int(reg("refractory").max()) != 0:
            raise ValueError("this model has no noise source and no refractory counter")
        n = network.n
        self.du, self.dv, self.vth = int(reg("du")), int(reg("dv")), int(reg("vth"))
        mant = np.broadcast_to(reg("bias_mant"), (n,))
        exp = np.broadcast_to(reg("bias_exp"), (n,))
        self.bias = np.where(exp >= 0, mant << np.maximum(exp, 0), mant >> np.maximum(-exp, 0))
        self.u = np.broadcast_to(np.asarray(network.init.get("u", 0), np.int64), (n,)).copy()
        self.v = np.broadcast_to(np.asarray(network.init.get("v", 0), np.int64), (n,)).copy()
        # each projection: (from input?, pre slice, post slice, quantised W, exponent, delay)
        self.proj = []
        for p in network.projections:
            delay = p.delay if p.delay is not None else 1     # Dense: one tick of delay
            # (a recurrent delay is >= 1; an input delay may be 0: this tick's spikes)
            self.proj.append((p.source == "input", slice(*p.pre), slice(*p.post),
                              loihi_weights(p.dense()), p.exponent, delay))
        self.history = {}                                    # tick -> (input, own spikes)
        self.n = n

    def step(self, tick, inputs):
        """One tick in chip order: deliver, current, voltage, threshold, reset."""
        self.history[tick] = (inputs, np.zeros(self.n, dtype=np.int64))
        a_in = self.deliver(tick)
        self.u = self.wrap_u(self.decay(self.u, 4096 - (self.du + 1)) + (a_in << 6))
        self.v = np.clip(self.decay(self.v, 4096 - self.dv) + self.u + self.bias, -V_MAX, V_MAX)
        spikes = self.fires(self.v, self.vth << 6)
        self.v[spikes] = 0
        self.history[tick] = (inputs, spikes.astype(np.int64))    # own spikes act next tick
        return {"u": self.u.copy(), "v": self.v.copy(), "spikes": spikes.astype(np.int64),
                "a_in": a_in}

    def deliver(self, tick):
        """Sum over projections of (W @ s(tick - delay)) shifted by the exponent."""
        a = np.zeros(self.n, dtype=np.int64)
        for from_input, pre, post, w, e, delay in self.proj:
            if tick - delay not in self.history:
                continue
            s = self.history[tick - delay][0 if from_input else 1][pre]
            acc = w @ s
            a[post] += (acc << e) if e >= 0 else (acc >> -e)
        return a

    def decay(self, x, factor):
        """``x * factor / 4096`` rounded toward zero."""
        p = x * factor
        return np.sign(p) * (np.abs(p) >> 12)

    def wrap_u(self, x):
        """24-bit two's-complement wrap with Lava's edge (+2**23 kept, -2**23 -> +2**23)."""
        x = np.where(x > U_MAX, x - (1 << BITS), x)
        return np.where(x <= -U_MAX, x + (1 << BITS), x)

    def fires(self, v, threshold):
        """Spike where ``v > threshold``."""
        return v > threshold


class FloorDecay(Loihi1):
    """Bug: ``>>`` floors, the chip rounds toward zero."""

    def decay(self, x, factor):
        """``x * factor / 4096`` floored (the bug)."""
        return (x * factor) >> 12


class GreaterEqual(Loihi1):
    """Bug: ``>=`` where the chip compares with ``>``."""

    def fires(self, v, threshold):
        """Spike where ``v >= threshold`` (the bug)."""
        return v >= threshold


class SaturatingCurrent(Loihi1):
    """Bug: u saturates where the chip wraps."""

    def wrap_u(self, x):
        """Clip to the register's range (the bug)."""
        return np.clip(x, U_MIN, U_MAX)


def scenarios(max_neurons: int = 4, max_ticks: int = 10, **fixed):
    """Loihi 1 cases the models can run: no noise, no refractory counter.

    ``fixed`` pins further registers, e.g. ``du=0`` (a current that barely decays
    reaches its rail within a few ticks, where wrap and saturation differ).
    """
    from emulator import strategies as fst

    return fst.scenarios("loihi1", fixed={"refractory": 0, **fixed}, noise=False,
                         max_neurons=max_neurons, max_ticks=max_ticks)


def check(model, max_examples: int = 300, backend: str = "numba"):
    """Property-test ``model``; return the ModelDivergence (shrunk) or None."""
    try:
        assert_matches_emulator(model, scenarios(), max_examples=max_examples, backend=backend)
    except ModelDivergence as exc:
        return exc
    return None


def main() -> int:
    """Check the correct model and the three broken ones; print what hypothesis finds."""
    for model in (Loihi1, FloorDecay, GreaterEqual, SaturatingCurrent):
        found = check(model)
        print(f"== {model.__name__}: {model.__doc__.splitlines()[0]}")
        print("ok: no divergence found" if found is None else str(found))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
