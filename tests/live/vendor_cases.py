"""Random Xylo and Loihi 1 cases for the live vendor cross-checks, and their file format.

A *case* is a flat dict whose keys are those of an ``fxlif-vectors/1`` file with the
``<case>/`` prefix removed (``oracles/FORMAT.md``)::

    {"input": (T, n_in), "w_in": ..., "w_rec": ..., "param/<name>": ...,
     "init/<var>": ..., "expect/<var>": (T, n[, n_syn])}

``xylo_cases()`` and ``loihi1_cases()`` are hypothesis strategies for the inputs and
registers (no ``expect/``: a vendor model fills those in); ``write_vectors`` writes a
set of cases as a valid vectors file, ``read_vectors`` reads one back.

Xylo cases are drawn element by element (hypothesis shrinks them to a minimal failing
network). Loihi 1 cases are run in batches in one Lava subprocess, so they are drawn
compactly: the structure and the "style" knobs (weight sign pattern, input rate, how
often extreme values appear) come from hypothesis, the bulk arrays from a numpy
generator seeded by a hypothesis-drawn integer.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FORMAT = "fxlif-vectors/1"

# --------------------------------------------------------------------------- Xylo ranges
XYLO_N = (1, 8)  # hidden neurons
XYLO_N_IN = (1, 4)  # input channels
XYLO_T = (1, 60)  # ticks
XYLO_N_SYN = 2  # synapses per hidden neuron
XYLO_WEIGHT = (-128, 127)  # int8
XYLO_DASH = (0, 15)  # 4-bit bit-shift decays
XYLO_THRESHOLD = (1, 32767)  # int16, positive (xylosim loops on v >= th)
XYLO_BIAS = (-32768, 32767)  # int16
# Shifts 0..7: |w << 7| <= 16384, so the int16 conversion of the shifted weight never
# wraps here (it would from shift 9 on; whether the chip allows > 7 is not known here).
XYLO_WEIGHT_SHIFT = (0, 7)
XYLO_INPUT_COUNT = (0, 20)  # counts above 15 are clamped to 15 by the chip

# ------------------------------------------------------------------------ Loihi 1 ranges
LOIHI_N = (1, 8)
LOIHI_N_IN = (1, 4)
LOIHI_T = (1, 60)
LOIHI_DECAY = (0, 4095)  # du, dv: 12 bit
LOIHI_VTH = (0, 131071)  # 17 bit, compared as vth << 6
LOIHI_BIAS_MANT = (-4096, 4095)  # 13 bit signed
LOIHI_BIAS_EXP = (0, 7)  # 3 bit
LOIHI_WEIGHT = (-256, 255)  # before Lava's clip/truncate (sign mode of the matrix)
LOIHI_WEIGHT_EXP = (-8, 7)
LOIHI_STATE_MAX = 2**23 - 1  # initial u, v drawn inside the 24-bit range


# =============================================================================== helpers
def oracles_dir() -> Path | None:
    """The shipped golden vectors: ``/work/shared/oracles`` or ``$FXLIF_ORACLES``."""
    env = os.environ.get("FXLIF_ORACLES")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "oracles")
    for path in candidates:
        if path.is_dir():
            return path
    return None


def _edgy_ints(lo: int, hi: int, typical: tuple[int, int] | None = None) -> st.SearchStrategy:
    """Integers in [lo, hi] with the bounds (and a typical sub-range) often drawn."""
    parts = [st.sampled_from(sorted({lo, hi})), st.integers(lo, hi)]
    if typical is not None:
        parts.append(st.integers(max(lo, typical[0]), min(hi, typical[1])))
    return st.one_of(*parts)


# ================================================================================ Xylo
@st.composite
def xylo_cases(draw, max_steps: int = XYLO_T[1]) -> dict[str, Any]:
    """A random Xylo hidden-layer case (inputs and registers, no ``expect/``).

    Covers: feed-forward and recurrent networks; weights over all of int8 with the
    extremes favoured; both weight shifts; dashes 0..15 (0 = full decay, forced minimum
    step of 1); thresholds from 1 (31 spikes a tick) to 32767; int16 biases, small or
    saturating; input counts 0..20, so the clamp at 15 is hit; bursts of strong input,
    which saturate ``isyn`` and ``v`` at both int16 bounds.
    """
    n = draw(st.integers(*XYLO_N), label="n")
    n_in = draw(st.integers(*XYLO_N_IN), label="n_in")
    steps = draw(st.integers(XYLO_T[0], max_steps), label="T")

    w8 = st.integers(*XYLO_WEIGHT)
    w_in = draw(hnp.arrays(np.int64, (n, n_in, XYLO_N_SYN), elements=w8), label="w_in")
    rec_mode = draw(st.sampled_from(["none", "sparse", "dense"]), label="recurrence")
    if rec_mode == "none":
        w_rec = np.zeros((n, n, XYLO_N_SYN), np.int64)
    else:
        w_rec = draw(hnp.arrays(np.int64, (n, n, XYLO_N_SYN), elements=w8), label="w_rec")
        if rec_mode == "sparse":
            mask = draw(hnp.arrays(np.bool_, (n, n, XYLO_N_SYN)), label="rec_mask")
            w_rec = np.where(mask, w_rec, 0)

    counts = st.one_of(
        st.just(0),
        st.integers(1, 3),
        st.integers(*XYLO_INPUT_COUNT),
        st.sampled_from([15, 16, 20]),
    )
    inp = draw(hnp.arrays(np.int64, (steps, n_in), elements=counts), label="input")

    # 0 (full decay; with v = -32768 it meets the int16 negation wrap) and 15 favoured
    dash = _edgy_ints(*XYLO_DASH)
    threshold = _edgy_ints(*XYLO_THRESHOLD, typical=(1, 4000))
    bias = st.one_of(
        st.just(0),
        st.integers(-500, 500),
        st.integers(*XYLO_BIAS),
        st.sampled_from([XYLO_BIAS[0], XYLO_BIAS[1]]),
    )
    shift = st.integers(*XYLO_WEIGHT_SHIFT)
    case = {
        "input": inp,
        "w_in": w_in,
        "w_rec": w_rec,
        "param/dash_mem": draw(hnp.arrays(np.int64, (n,), elements=dash), label="dash_mem"),
        "param/dash_syn": draw(
            hnp.arrays(np.int64, (n, XYLO_N_SYN), elements=dash), label="dash_syn"
        ),
        "param/threshold": draw(hnp.arrays(np.int64, (n,), elements=threshold),
                                label="threshold"),
        "param/bias": draw(hnp.arrays(np.int64, (n,), elements=bias), label="bias"),
        "param/weight_shift_in": np.int64(draw(shift, label="weight_shift_in")),
        "param/weight_shift_rec": np.int64(draw(shift, label="weight_shift_rec")),
    }
    # An inhibitory burst, then silence: drives v to -32768 and lets it recover. With
    # dash_mem = 0 that is where -decay(v) is negated in int16 (-(-32768) wraps to
    # -32768, so v stays pinned until the drive turns positive): random input rarely
    # gets there.
    if draw(st.sampled_from([False, False, False, True]), label="inhibitory_burst"):
        burst = draw(st.integers(1, 3), label="burst_ticks")
        case["w_in"] = -np.abs(w_in).clip(64, 128)
        case["input"] = np.where(np.arange(steps)[:, None] < burst, 15, 0) * np.ones_like(inp)
        case["param/weight_shift_in"] = np.int64(7)
        case["param/bias"] = case["param/bias"].clip(-500, 500)
    return case


# ============================================================================= Loihi 1
def _weights(rng: np.random.Generator, shape, pattern: str, extreme: float,
             sparsity: float = 0.5) -> np.ndarray:
    lo, hi = LOIHI_WEIGHT
    if pattern == "zero":
        return np.zeros(shape, np.int64)
    if pattern == "excitatory":
        w = rng.integers(0, hi + 1, shape)
        ext = rng.choice([0, 1, hi - 1, hi], shape)
    elif pattern == "inhibitory":
        w = rng.integers(lo, 1, shape)
        ext = rng.choice([lo, lo + 1, -hi, -1, 0], shape)
    elif pattern == "loud_excitatory":
        w = ext = rng.choice([hi - 1, hi], shape)
    elif pattern == "loud_inhibitory":
        w = ext = rng.choice([lo, lo + 1, -hi + 1], shape)
    elif pattern == "small":  # magnitudes that Lava's truncation (mixed: LSB) can zero
        w = rng.integers(-3, 4, shape)
        ext = rng.choice([-1, 1], shape)
    else:  # mixed
        w = rng.integers(lo, hi + 1, shape)
        ext = rng.choice([lo, lo + 1, -1, 1, hi - 1, hi], shape)
    w = np.where(rng.random(shape) < extreme, ext, w)
    sparse = rng.random(shape) < rng.uniform(0.0, sparsity)
    return np.where(sparse, 0, w).astype(np.int64)


@st.composite
def loihi1_cases(draw, max_steps: int = LOIHI_T[1]) -> dict[str, Any]:
    """A random Loihi 1 case (Lava ``Dense`` -> ``LIF``; inputs and registers).

    Covers: du, dv over 0..4095 (0 and 4095 favoured: du=0 still decays by 1/4096,
    du=4095 zeroes u); vth 0..131071 with small values favoured so that neurons spike;
    bias_mant -4096..4095 with bias_exp 0..7 per neuron; excitatory, inhibitory, mixed
    (LSB truncated by Lava), tiny and all-zero weight matrices in -256..255 (Lava's sign
    mode is chosen from the whole matrix); weight_exp -8..7 (floor shift of the summed
    input); binary input spikes at a drawn rate; sometimes a non-zero initial u and v,
    up to the 24-bit bounds.
    """
    # "loud": dense, full-scale, same-sign input at weight_exp 6..7, so that a_in leaves
    # int16 and u wraps at 2**23
    loud = draw(st.sampled_from([False, False, False, True]), label="loud")
    n = draw(st.integers(*LOIHI_N), label="n")
    n_in = draw(st.integers(2 if loud else LOIHI_N_IN[0], LOIHI_N_IN[1]), label="n_in")
    steps = draw(st.integers(LOIHI_T[0], max_steps), label="T")
    if loud:
        pattern = draw(st.sampled_from(["loud_excitatory", "loud_inhibitory"]), label="pattern")
        extreme = 1.0
        rate = draw(st.sampled_from([0.5, 1.0]), label="input_rate")
        weight_exp = draw(st.integers(6, LOIHI_WEIGHT_EXP[1]), label="weight_exp")
    else:
        pattern = draw(st.sampled_from(["mixed", "excitatory", "inhibitory", "small", "zero"]),
                       label="pattern")
        extreme = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]), label="extreme_fraction")
        rate = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]), label="input_rate")
        # thirds: negative (floor shift of the sum), small, large
        weight_exp = draw(st.one_of(st.integers(LOIHI_WEIGHT_EXP[0], -1), st.integers(0, 3),
                                    st.integers(4, LOIHI_WEIGHT_EXP[1])), label="weight_exp")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)

    w_in = _weights(rng, (n, n_in), pattern, extreme, sparsity=0.0 if loud else 0.5)
    inp = (rng.random((steps, n_in)) < rate).astype(np.int64)

    bias_style = draw(st.sampled_from(["zero", "small", "full", "extreme"]), label="bias")
    if bias_style == "zero":
        bias_mant = np.zeros(n, np.int64)
        bias_exp = rng.integers(*LOIHI_BIAS_EXP, endpoint=True, size=n)
    elif bias_style == "small":
        bias_mant = rng.integers(-64, 65, n)
        bias_exp = rng.integers(0, 3, n)
    elif bias_style == "full":
        bias_mant = rng.integers(LOIHI_BIAS_MANT[0], LOIHI_BIAS_MANT[1], endpoint=True, size=n)
        bias_exp = rng.integers(*LOIHI_BIAS_EXP, endpoint=True, size=n)
    else:
        bias_mant = rng.choice([LOIHI_BIAS_MANT[0], -1, 0, 1, LOIHI_BIAS_MANT[1]], n)
        bias_exp = rng.choice([LOIHI_BIAS_EXP[0], LOIHI_BIAS_EXP[1]], n)

    case: dict[str, Any] = {
        "input": inp,
        "w_in": w_in,
        "param/du": np.int64(draw(_edgy_ints(*LOIHI_DECAY, typical=(0, 1024)), label="du")),
        "param/dv": np.int64(draw(_edgy_ints(*LOIHI_DECAY, typical=(0, 1024)), label="dv")),
        "param/vth": np.int64(draw(_edgy_ints(*LOIHI_VTH, typical=(0, 400)), label="vth")),
        "param/bias_mant": bias_mant.astype(np.int64),
        "param/bias_exp": bias_exp.astype(np.int64),
        "param/weight_exp": np.int64(weight_exp),
    }
    init_style = draw(st.sampled_from(["zero", "zero", "random", "extreme"]), label="init")
    if init_style != "zero":
        m = LOIHI_STATE_MAX
        if init_style == "random":
            u0 = rng.integers(-m, m, endpoint=True, size=n)
            v0 = rng.integers(-m, m, endpoint=True, size=n)
        else:
            u0 = rng.choice([-m, -1, 0, 1, m], n)
            v0 = rng.choice([-m, -1, 0, 1, m], n)
        case["init/u"] = u0.astype(np.int64)
        case["init/v"] = v0.astype(np.int64)
    return case


# ========================================================================== file format
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _int64(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{name}: integer array expected, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _flatten(case: Mapping[str, Any]) -> dict[str, Any]:
    """Accept flat keys or nested ``param``/``init``/``expect`` dicts."""
    flat: dict[str, Any] = {}
    for key, value in case.items():
        if key in ("param", "init", "expect") and isinstance(value, Mapping):
            for sub, v in value.items():
                flat[f"{key}/{sub}"] = v
        else:
            flat[key] = value
    return flat


def write_vectors(path: str | os.PathLike, profile: str,
                  cases: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write ``cases`` (name -> case) as an ``fxlif-vectors/1`` file for ``profile``.

    Each case needs ``input`` (T, n_in), ``w_in`` (n, n_in[, n_syn]) and its
    ``param/*`` registers; ``w_rec``, ``init/*`` and ``expect/*`` are optional (``expect``
    arrays must be (T, n) or (T, n, n_syn)). Every array is stored as int64, ``steps``
    is taken from the input. Shapes are checked; a bad case raises ``ValueError``
    naming the case and key.
    """
    if not cases:
        raise ValueError("write_vectors: no cases")
    out: dict[str, np.ndarray] = {"format": np.array(FORMAT), "cases": np.array(list(cases))}
    for name, raw in cases.items():
        if not _NAME.match(name):
            raise ValueError(f"case name {name!r}: use letters, digits, '_', '-', '.'")
        case = _flatten(raw)
        for key in ("input", "w_in"):
            if key not in case:
                raise ValueError(f"case {name!r}: missing {key!r}")
        inp = _int64(f"{name}/input", case["input"])
        if inp.ndim != 2:
            raise ValueError(f"case {name!r}: input must be (T, n_in), got {inp.shape}")
        steps, n_in = inp.shape
        w_in = _int64(f"{name}/w_in", case["w_in"])
        if w_in.ndim not in (2, 3) or w_in.shape[1] != n_in:
            raise ValueError(f"case {name!r}: w_in {w_in.shape} does not fit input {inp.shape}")
        n = w_in.shape[0]
        syn = w_in.shape[2:]
        out[f"{name}/profile"] = np.array(profile)
        out[f"{name}/steps"] = np.array(steps, np.int64)
        out[f"{name}/input"] = inp
        out[f"{name}/w_in"] = w_in
        if case.get("steps") is not None and int(np.asarray(case["steps"])) != steps:
            raise ValueError(f"case {name!r}: steps {case['steps']} but input has {steps} rows")
        for key, value in case.items():
            if key in ("input", "w_in", "steps", "profile") or value is None:
                continue
            arr = _int64(f"{name}/{key}", value)
            if key == "w_rec":
                if arr.shape != (n, n) + syn:
                    raise ValueError(f"case {name!r}: w_rec {arr.shape}, expected {(n, n) + syn}")
            elif key.startswith("param/"):
                if arr.ndim > 0 and arr.shape[0] != n:
                    raise ValueError(f"case {name!r}: {key} {arr.shape} is not per neuron (n={n})")
            elif key.startswith("init/"):
                if arr.ndim == 0 or arr.shape[0] != n:
                    raise ValueError(f"case {name!r}: {key} {arr.shape} is not per neuron (n={n})")
            elif key.startswith("expect/"):
                if arr.shape[:2] != (steps, n) or arr.ndim > 3:
                    raise ValueError(
                        f"case {name!r}: {key} {arr.shape}, expected ({steps}, {n}[, n_syn])"
                    )
            else:
                raise ValueError(f"case {name!r}: unknown key {key!r}")
            out[f"{name}/{key}"] = arr
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # np.savez would append ".npz" to other suffixes
        np.savez(f, **out)
    return path


def read_vectors(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Read a vectors file: {case name: {key without the case prefix: array}}."""
    with np.load(path, allow_pickle=False) as f:
        if str(f["format"]) != FORMAT:
            raise ValueError(f"{path}: format {f['format']!s}, expected {FORMAT}")
        names = [str(c) for c in np.atleast_1d(f["cases"])]
        cases: dict[str, dict[str, np.ndarray]] = {c: {} for c in names}
        for key in f.files:
            case, _, rest = key.partition("/")
            if case in cases and rest:
                cases[case][rest] = f[key]
    return cases


def inputs_only(case: Mapping[str, Any]) -> dict[str, Any]:
    """The case without its ``expect/`` arrays (what a vendor model is given)."""
    return {k: v for k, v in case.items() if not k.startswith("expect/")}


# ==================================================================== emulator contract
def assert_emulator_conforms(path: str | os.PathLike, context: str = "") -> Any:
    """Run ``emulator.verify(path)``; fail with the report (first mismatch) unless ok.

    The contract: ``report.ok`` (bool), ``report.mismatch`` (None or an object with
    case, variable, tick, neuron, expected, got) and ``str(report)``.
    """
    import pytest

    try:
        from emulator import verify
    except ImportError as exc:
        pytest.fail(f"emulator.verify is not importable ({exc}): nothing to check the "
                    f"vendor vectors {path} against")
    if inspect.ismodule(verify):  # the submodule emulator/verify.py, not the function
        verify = verify.verify
    report = verify(str(path))
    where = f" ({context})" if context else ""
    assert report.ok, f"emulator disagrees with the vendor model on {path}{where}:\n{report}"
    return report
