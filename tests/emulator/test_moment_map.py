"""Moment activation measured on a chip against the float moment activation."""

import math

import numpy as np
import pytest

from emulator import load_profile
from emulator.moment_map import compare_moment_activation, measure_moments, plot_moment_map
from reference.moment import moment_activation

L, DT = 0.05, 2 ** -8
LOIHI = load_profile("loihi1")


@pytest.mark.parametrize("mu,sigma", [(1.5, 2.0), (0.8, 3.0), (2.5, 1.0)])
def test_chip_rate_is_the_float_rate_with_a_tick_end_threshold(mu, sigma):
    """A threshold tested once per tick acts like one raised by 0.5826 sigma sqrt(dt)
    (Broadie-Glasserman-Kou); with that shift the float moment activation predicts the
    chip's rate within 4 standard errors + 0.5 %; without it the chip is 1-5 % slower."""
    got = measure_moments(LOIHI, mu, sigma, P=2000, T=20.0, dt=DT)
    shift = 0.5826 * sigma * math.sqrt(DT / L)
    expected = float(moment_activation(mu, sigma, V_th=20.0 + shift, T_ref=0.0).mean)
    assert abs(got["rate"] - expected) < 4 * got["rate_se"] + 0.005 * expected
    plain = float(moment_activation(mu, sigma, T_ref=0.0).mean)
    assert got["rate"] < plain


@pytest.mark.parametrize("mu,sigma", [(1.5, 2.0), (0.8, 3.0)])
def test_fano_and_chi_near_the_float_values(mu, sigma):
    """Fano factor (counts in an 18-time-constant window) and chi (central difference)
    within 10 % of the float moment activation where the output is irregular."""
    got = measure_moments(LOIHI, mu, sigma, P=2000, T=20.0, dt=DT)
    out = moment_activation(mu, sigma, T_ref=0.0)
    assert got["fano"] == pytest.approx(float(out.fano), rel=0.10)
    assert got["chi"] == pytest.approx(float(out.chi), rel=0.10)


def test_map_and_plot(tmp_path):
    mm = compare_moment_activation(LOIHI, [1.2, 2.0], [1.5, 3.0], P=300, T=8.0)
    assert mm.chip["rate"].shape == (2, 2) and np.isfinite(mm.chip["rate"]).all()
    assert np.allclose(mm.difference("rate"), mm.chip["rate"] - mm.float["rate"])
    assert (np.abs(mm.difference("rate")) < 0.15 * mm.float["rate"]).all()
    png = plot_moment_map(mm, tmp_path / "mm.png")
    assert png.stat().st_size > 1000


def test_noise_free_input_is_refused():
    from reference.errors import InputError

    with pytest.raises(InputError, match="std"):
        measure_moments(LOIHI, 1.5, 0.0)
