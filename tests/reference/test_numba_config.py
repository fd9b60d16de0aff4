"""fxlif's process-wide numba setting (reference._numba_config): when it applies, and that
results do not depend on it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from reference import _numba_config as C


def test_vector_width_256_or_user_features_turn_it_off(monkeypatch):
    """FXLIF_VECTOR_WIDTH=256, NUMBA_CPU_FEATURES or NUMBA_CPU_NAME: no change to numba's features."""
    for var, value in (("FXLIF_VECTOR_WIDTH", "256"), ("NUMBA_CPU_FEATURES", "+sse2"),
                       ("NUMBA_CPU_NAME", "generic")):
        with monkeypatch.context() as m:
            m.setenv(var, value)
            assert C.wide_vector_features() is None


def test_features_are_the_host_features_plus_the_tuning_flag(monkeypatch):
    """Where it applies, the string is numba's host features with -prefer-256-bit appended."""
    from numba.core.codegen import get_host_cpu_features

    for var in ("FXLIF_VECTOR_WIDTH", "NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME"):
        monkeypatch.delenv(var, raising=False)
    host = get_host_cpu_features()
    got = C.wide_vector_features()
    if "+avx512f" in host.split(","):
        assert got == host + ",-prefer-256-bit"
    else:
        assert got is None


_RUN = """
import json, numpy as np
from emulator import Network, load_profile, simulate
from reference import _numba_config
net = Network(n=3000, params=dict(du=409, dv=205, vth=100, bias_mant=np.arange(3000) % 160,
                                  bias_exp=3, noise_exp=3), noise=True, noise_kind="uniform")
r = simulate(load_profile("loihi1"), net, ticks=50, seeds=[4])
print(json.dumps({"wide": _numba_config.WIDE_VECTORS, "v": r.state["v"].ravel().tolist(),
                  "neuron": r.spike_neuron.tolist()}))
"""


@pytest.mark.slow
def test_results_do_not_depend_on_the_vector_width(tmp_path):
    """The loihi1 core gives the same state and spikes compiled with and without 512-bit vectors."""
    out = {}
    for width in ("512", "256"):
        env = dict(os.environ, FXLIF_VECTOR_WIDTH=width, NUMBA_CACHE_DIR=str(tmp_path / width))
        env.pop("NUMBA_CPU_FEATURES", None)
        proc = subprocess.run([sys.executable, "-c", _RUN], env=env, capture_output=True,
                              text=True, check=True, timeout=600)
        out[width] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["256"]["wide"] is False
    assert np.array_equal(out["512"]["v"], out["256"]["v"])
    assert out["512"]["neuron"] == out["256"]["neuron"] and len(out["256"]["neuron"]) > 1000
