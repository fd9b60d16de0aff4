"""Run one Xylo case (fxlif-vectors/1 terms) through SynSense's xylosim v2.

xylosim 0.1.3 (`xylosim.v2.XyloLayer`, C++/pybind11) is SynSense's bitwise-exact model
of the Xylo SNN core. Only the hidden layer is used; the layer gets no readout neurons.

Mapping from the vector format:

* ``w_in`` (n, n_in, 2) is [post, pre, synapse]; xylosim wants, per presynaptic
  channel, a list of ``XyloSynapse(post, synapse, weight)`` (zero weights left out, as
  Rockpool's ``XyloSim.from_specification`` does). The order inside one presynaptic
  list does not matter (every (post, synapse) pair is a different accumulator); the
  order of the channels does (saturating adds, channel 0 first) and is fixed by
  xylosim itself.
* ``input`` (T, n_in) counts are passed as uint8 (xylosim clamps them to 15 itself;
  counts above 255 cannot be represented and are rejected here).
* xylosim records ``i_syn``, ``i_syn2`` and ``v_mem`` after each tick's evolve (after
  spiking and the subtractive reset) and the spike counts of each tick.

The ``XyloLayer`` keeps raw ``XyloSynapse*`` pointers: the Python synapse objects must
outlive the layer (notes/chips.md 4), so they are kept referenced until the run ends.

xylosim does not expose the neuron state (``v_mem``, ``i_syns``) to Python, so only
zero initial state can be run; a case with a non-zero ``init`` raises ``ValueError``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

MAX_INPUT_COUNT = 255  # xylosim's input raster is uint8


def xylosim_available() -> tuple[bool, str]:
    """Return (True, version) when ``xylosim.v2`` imports, else (False, reason)."""
    try:
        import xylosim.v2  # noqa: F401
    except Exception as exc:  # ImportError, or a broken compiled extension
        return False, f"xylosim is not importable ({type(exc).__name__}: {exc}); " \
                      "install it with `pip install xylosim` (extra `fxlif[live]`)"
    try:
        from importlib.metadata import version

        ver = version("xylosim")
    except Exception:
        ver = "unknown"
    return True, ver


def _get(case: Mapping[str, Any], key: str) -> Any:
    """Look a key up as ``param/<key>`` or ``<key>`` (both spellings accepted)."""
    if f"param/{key}" in case:
        return case[f"param/{key}"]
    if "param" in case and key in case["param"]:
        return case["param"][key]
    return case[key]


def _init(case: Mapping[str, Any], var: str) -> np.ndarray | None:
    if f"init/{var}" in case:
        return np.asarray(case[f"init/{var}"])
    init = case.get("init")
    if isinstance(init, Mapping) and var in init:
        return np.asarray(init[var])
    return None


def _synapse_lists(weights: np.ndarray, XyloSynapse) -> list[list[Any]]:
    """(n_post, n_pre, n_syn) weights -> per presynaptic index, XyloSynapse list."""
    n_post, n_pre, n_syn = weights.shape
    lists = []
    for pre in range(n_pre):
        row = []
        for syn in range(n_syn):
            for post in np.flatnonzero(weights[:, pre, syn]):
                row.append(XyloSynapse(int(post), int(syn), int(weights[post, pre, syn])))
        lists.append(row)
    return lists


def run_xylosim_case(case: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Simulate ``case`` with xylosim v2 and return its expected state.

    Parameters
    ----------
    case : mapping
        ``w_in`` (n, n_in, 2), optional ``w_rec`` (n, n, 2), ``input`` (T, n_in) and the
        registers ``dash_mem`` (n,), ``dash_syn`` (n, 2), ``threshold`` (n,), ``bias``
        (n,), ``weight_shift_in``, ``weight_shift_rec`` given either as
        ``param/<name>`` keys (the vector file's flat keys, with the case prefix
        removed) or in a nested ``param`` dict. Optional ``init/isyn``, ``init/v``
        must be zero.

    Returns
    -------
    dict
        ``expect/isyn`` (T, n, 2), ``expect/v`` (T, n), ``expect/spikes`` (T, n), all
        int64.
    """
    from xylosim.v2 import XyloLayer, XyloSynapse

    w_in = np.asarray(case["w_in"], dtype=np.int64)
    if w_in.ndim == 2:
        w_in = w_in[:, :, None]
    n, n_in, n_syn = w_in.shape
    if n_syn not in (1, 2):
        raise ValueError(f"xylosim hidden neurons have 1 or 2 synapses, w_in has {n_syn}")
    w_rec = case.get("w_rec")
    w_rec = np.zeros((n, n, n_syn), np.int64) if w_rec is None else np.asarray(w_rec, np.int64)
    if w_rec.ndim == 2:
        w_rec = w_rec[:, :, None]
    if w_rec.shape != (n, n, n_syn):
        raise ValueError(f"w_rec shape {w_rec.shape}, expected {(n, n, n_syn)}")
    for name, w in (("w_in", w_in), ("w_rec", w_rec)):
        if w.size and (w.min() < -128 or w.max() > 127):
            raise ValueError(f"{name} outside int8 [-128, 127]: [{w.min()}, {w.max()}]")

    inp = np.asarray(case["input"], dtype=np.int64)
    if inp.ndim != 2 or inp.shape[1] != n_in:
        raise ValueError(f"input shape {inp.shape}, expected (T, {n_in})")
    if inp.size and (inp.min() < 0 or inp.max() > MAX_INPUT_COUNT):
        raise ValueError(f"input counts must be in 0..{MAX_INPUT_COUNT} for xylosim")
    steps = inp.shape[0]

    dash_mem = np.broadcast_to(np.asarray(_get(case, "dash_mem"), np.int64), (n,))
    dash_syn = np.broadcast_to(np.asarray(_get(case, "dash_syn"), np.int64), (n, n_syn))
    threshold = np.broadcast_to(np.asarray(_get(case, "threshold"), np.int64), (n,))
    bias = np.broadcast_to(np.asarray(_get(case, "bias"), np.int64), (n,))
    shift_in = int(_get(case, "weight_shift_in"))
    shift_rec = int(_get(case, "weight_shift_rec"))

    for var in ("isyn", "v"):
        init = _init(case, var)
        if init is not None and np.any(init != 0):
            raise ValueError(
                f"init/{var} is non-zero: xylosim v2 does not expose v_mem/i_syns to "
                "Python, so only zero initial state can be simulated"
            )

    # Keep every XyloSynapse referenced until the run is over (raw pointers in C++).
    syn_in = _synapse_lists(w_in, XyloSynapse)
    syn_rec = _synapse_lists(w_rec, XyloSynapse)
    syn_out: list[list[Any]] = [[] for _ in range(n)]
    has_bias = bool(np.any(bias != 0))  # as Rockpool; bias 0 adds nothing either way

    layer = XyloLayer(
        synapses_in=syn_in,
        synapses_rec=syn_rec,
        synapses_out=syn_out,
        aliases=[[] for _ in range(n)],
        threshold=[int(x) for x in threshold],
        threshold_out=[],
        has_bias=has_bias,
        bias=[int(x) for x in bias],
        bias_out=[],
        weight_shift_inp=shift_in,
        weight_shift_rec=shift_rec,
        weight_shift_out=0,
        dash_mem=[int(x) for x in dash_mem],
        dash_mem_out=[],
        dash_syns=[[int(x) for x in row] for row in dash_syn],
        dash_syns_out=[],
        name="fxlif_live",
    )
    layer.evolve([[int(x) for x in row] for row in inp])

    v = np.array(layer.rec_v_mem, dtype=np.int64).reshape(n, steps).T
    isyn = np.empty((steps, n, n_syn), np.int64)
    isyn[:, :, 0] = np.array(layer.rec_i_syn, dtype=np.int64).reshape(n, steps).T
    if n_syn == 2:
        isyn[:, :, 1] = np.array(layer.rec_i_syn2, dtype=np.int64).reshape(n, steps).T
    spikes = np.array(layer.rec_recurrent_spikes, dtype=np.int64).reshape(steps, n)

    # the layer is done: only now may the synapse objects go
    del layer
    del syn_in, syn_rec, syn_out
    return {"expect/isyn": isyn, "expect/v": v, "expect/spikes": spikes}
