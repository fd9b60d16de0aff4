"""A small pool of generic-profile mode sets that together cover every mode.

Kernels are compiled per mode set (that is what keeps the per-neuron loop free of
branches), so property tests draw their generic profiles from this pool: each
rounding mode, overflow mode, decay kind, reset, comparison and noise kind appears
at least once, and the suite compiles a bounded number of kernels.  Widths and
registers still vary freely.
"""

from hypothesis import strategies as st

from emulator import strategies as fst

_COMMON = {"input.delay": 1, "decay.u.shift": 12, "decay.v.shift": 12,
           "params.du.bits": 5, "params.dv.bits": 5}

MODE_POOL = [
    {"decay.u.kind": "multiply", "decay.u.rounding": "floor", "state.u.overflow": "wrap",
     "decay.v.kind": "multiply", "decay.v.rounding": "half_up", "state.v.overflow": "saturate",
     "threshold.compare": ">", "threshold.reset": "zero", "threshold.max_spikes": 1,
     "threshold.shift": 0, "input.act_shift": 0, "noise.kind": "uniform",
     "decay.u.offset": 1, "decay.u.min_step": False, "decay.v.min_step": False},
    {"decay.u.kind": "shift", "decay.u.rounding": "toward_zero",
     "state.u.overflow": "saturate_symmetric", "decay.v.kind": "shift",
     "decay.v.rounding": "half_away", "state.v.overflow": "wrap", "threshold.compare": ">=",
     "threshold.reset": "subtract", "threshold.max_spikes": 3, "threshold.shift": 1,
     "input.act_shift": 2, "noise.kind": "binomial", "decay.u.offset": 0,
     "decay.u.min_step": True, "decay.v.min_step": True},
    {"decay.u.kind": "none", "decay.u.rounding": "half_even", "state.u.overflow": "saturate",
     "decay.v.kind": "multiply", "decay.v.rounding": "stochastic",
     "state.v.overflow": "saturate_symmetric", "threshold.compare": ">",
     "threshold.reset": "to_value", "threshold.max_spikes": 1, "threshold.shift": 0,
     "input.act_shift": 1, "noise.kind": "sum_uniform", "decay.u.offset": 0,
     "decay.u.min_step": False, "decay.v.min_step": False},
    {"decay.u.kind": "multiply", "decay.u.rounding": "stochastic", "state.u.overflow": "wrap",
     "decay.v.kind": "shift", "decay.v.rounding": "floor", "state.v.overflow": "saturate",
     "threshold.compare": ">=", "threshold.reset": "none", "threshold.max_spikes": 1,
     "threshold.shift": 2, "input.act_shift": 0, "noise.kind": "none", "decay.u.offset": 1,
     "decay.u.min_step": False, "decay.v.min_step": True},
]


def pooled_generic(min_bits: int = 6, max_bits: int = 32):
    """Generic profiles with modes from :data:`MODE_POOL` and free widths."""
    return st.sampled_from(MODE_POOL).flatmap(
        lambda modes: fst.profiles(shipped=False, min_bits=min_bits, max_bits=max_bits,
                                   overrides={**_COMMON, **modes}))
