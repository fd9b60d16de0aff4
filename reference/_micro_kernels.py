"""numba kernels of the NLIF particle step (private; the contract is in :mod:`reference.micro`).

Every kernel takes plain float64/int64 arrays and scalars, writes into
preallocated outputs and draws no random numbers: the normals and the
uniforms are drawn by the caller, so :func:`reference.micro.particle_step_numpy`
can replay the same draws and be compared bit for bit.

Shared conventions (all voltages in model units, times in membrane time
constants):

``levels`` : float64 ndarray, shape (L,)
    Firing levels ``V_F + m * (V_F - V_R)``, m = 0..L-1.  A neuron whose
    value x reaches ``levels[m-1]`` has fired m times (:func:`n_fires`);
    L = 1 under the CCP reset, L = ``DIRT_MAX_FIRES`` under DIRT.
``ref`` / ``ref_new`` : refractory time left before / after the step; a
    neuron with ``ref > 0`` is *held* (clamped at V_R, no noise, no kicks).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "apply_pass",
    "bridge_fixup",
    "bridge_pass",
    "cascade_size",
    "collect",
    "em_pass",
    "gather",
    "n_fires",
]


def _njit(func):
    """Compile ``func`` with the project's numba options.

    ``cache=True`` keeps the compiled code between sessions;
    ``error_model="numpy"`` makes float division by zero give inf/nan instead
    of raising (and lets numba vectorise the loops).
    """
    return numba.njit(cache=True, error_model="numpy")(func)


@_njit
def n_fires(x, levels):
    """Return how many firing levels ``x`` reaches (0 = no spike)."""
    m = 0
    L = levels.shape[0]
    while m < L and x >= levels[m]:
        m += 1
    return m


@_njit
def em_pass(V, ref, xi, V_new, ref_new, inp, dt, sig, V_R, levels, ccp, has_ref, ref_floor,
            tau_ref, bridge, inv_adt, e_max, reset_now, lo, br_idx, br_p, cc_idx):
    """One Euler-Maruyama pass over all particles.

    For a free neuron ``V* = V + dt (inp - V) + sig xi``.  A neuron with
    ``V* >= V_F`` has fired; if ``reset_now`` it is reset here (CCP: V_R,
    DIRT: ``V* - m (V_F - V_R)``), otherwise ``V*`` is stored and the reset is
    left to :func:`apply_pass`.  A neuron ending below V_F with bridge
    exponent ``e = (V_F - V)(V_F - V*) / (a dt) < e_max`` is a bridge
    candidate: its index and crossing probability ``exp(-e)`` are stored in
    ``br_idx``/``br_p``.  With ``reset_now`` False, every free neuron with
    ``V* >= lo`` is a cascade candidate (indices in ``cc_idx``, counted past
    its capacity so that the caller sees an overflow).

    Returns
    -------
    k : int
        Spikes of neurons with ``V* >= V_F`` (multiplicity under DIRT).
    nb : int
        Bridge candidates stored.
    nc : int
        Cascade candidates found (may exceed ``cc_idx.shape[0]``).
    n_capped : int
        Neurons left at or above V_F by the DIRT firing cap (reset_now only).
    """
    V_F = levels[0]
    D = V_F - V_R
    P = V.shape[0]
    cap = cc_idx.shape[0]
    k = 0
    nb = 0
    nc = 0
    n_capped = 0
    for i in range(P):
        if has_ref:
            r = ref[i]
            if r > 0.0:
                V_new[i] = V_R
                r -= dt
                ref_new[i] = r if r > ref_floor else 0.0
                continue
            ref_new[i] = 0.0
        v = V[i]
        vs = v + dt * (inp - v) + sig * xi[i]
        if vs >= V_F:
            m = n_fires(vs, levels)
            k += m
            if reset_now:
                if ccp:
                    V_new[i] = V_R
                else:
                    w = vs - m * D
                    V_new[i] = w
                    if w >= V_F:
                        n_capped += 1
                if has_ref:
                    ref_new[i] = tau_ref
                continue
        elif bridge:
            e = (V_F - v) * (V_F - vs) * inv_adt
            if e < e_max:
                br_idx[nb] = i
                br_p[nb] = math.exp(-e)
                nb += 1
        V_new[i] = vs
        if not reset_now and vs >= lo:
            if nc < cap:
                cc_idx[nc] = i
            nc += 1
    return k, nb, nc, n_capped


@_njit
def bridge_pass(br_idx, br_p, u, nb, V_new, s_b):
    """Decide the bridge crossings: candidate j fires iff ``u[j] < br_p[j]``.

    The fired indices are compacted to the front of ``br_idx``, their ``V*``
    saved in ``s_b`` and their ``V_new`` set to ``-inf`` so that no later
    pass mistakes them for free neurons; :func:`bridge_fixup` resets them.

    Returns
    -------
    int
        Number of bridge-fired neurons.
    """
    nf = 0
    for j in range(nb):
        if u[j] < br_p[j]:
            i = br_idx[j]
            br_idx[nf] = i
            s_b[nf] = V_new[i]
            V_new[i] = -np.inf
            nf += 1
    return nf


@_njit
def gather(V_new, cc_idx, nc, out):
    """Copy ``V_new`` of the stored cascade candidates, skipping bridge-fired ones.

    Returns
    -------
    int
        Number of values written to ``out``.
    """
    n = 0
    for j in range(nc):
        v = V_new[cc_idx[j]]
        if v != -np.inf:
            out[n] = v
            n += 1
    return n


@_njit
def collect(V_new, ref, has_ref, lo, out):
    """Copy ``V_new`` of every free neuron with ``V_new >= lo`` (full pass).

    Returns
    -------
    int
        Number of values written to ``out`` (``out`` must hold P values).
    """
    n = 0
    for i in range(V_new.shape[0]):
        if has_ref and ref[i] > 0.0:
            continue
        v = V_new[i]
        if v >= lo:
            out[n] = v
            n += 1
    return n


@_njit
def _count_reaching(s, c, level):
    """Return #{j : s[j] + c >= level} for ``s`` sorted ascending (bisection)."""
    lo = 0
    hi = s.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if s[mid] + c >= level:
            hi = mid
        else:
            lo = mid + 1
    return s.shape[0] - lo


@_njit
def _spike_count(s_nb, s_b, c, levels):
    """Total spikes F(c) when every free neuron is kicked by ``c``.

    ``s_nb``: sorted V* of free, not bridge-fired candidates; each fires
    ``n_fires(s + c)`` times.  ``s_b``: sorted V* of bridge-fired neurons;
    each fires ``max(1, n_fires(s + c))`` times.
    """
    total = s_b.shape[0]
    for m in range(levels.shape[0]):
        cnt = _count_reaching(s_nb, c, levels[m])
        if m >= 1:
            cnt += _count_reaching(s_b, c, levels[m])
            if cnt == 0:
                break  # the levels increase, so no higher level is reached either
        total += cnt
    return total


@_njit
def cascade_size(s_nb, s_b, b, P, levels, lo):
    """Smallest fixed point K = F(b K / P) of the spike count (b > 0).

    Iterates ``K <- F(b K / P)`` from ``K = F(0)``; F is non-decreasing, so
    the iteration climbs monotonically to the smallest fixed point.  This is
    the same K as the sequential rule of notes/multiscale.md 1(B) (add the
    next-highest neuron while ``U + b k / P >= V_F``).

    Parameters
    ----------
    s_nb, s_b : float64 ndarray, sorted ascending
        See :func:`_spike_count`; ``s_nb`` must hold every free neuron with
        ``V* >= lo``.
    b : float
        Connectivity (> 0).
    P : int
        Number of particles.
    levels : float64 ndarray
        Firing levels.
    lo : float
        Lower edge of the candidate window.

    Returns
    -------
    K : int
        Cascade size (valid only if ``ok``).
    ok : bool
        False if the kick ``b K / P`` reached below the window (``lo + c >= V_F``):
        the caller must widen the window and call again.
    """
    V_F = levels[0]
    K = _spike_count(s_nb, s_b, 0.0, levels)
    while True:
        c = b * K / P
        if not lo + c < V_F:
            return K, False
        F = _spike_count(s_nb, s_b, c, levels)
        if F == K:
            return K, True
        K = F


@_njit
def apply_pass(V_new, ref, ref_new, has_ref, tau_ref, c_count, c_kick, V_R, levels, ccp):
    """Fire and kick every free neuron once the cascade size is known.

    A free neuron with value ``V*`` fires ``m = n_fires(V* + c_count)`` times;
    fired neurons go to V_R (CCP) or ``(V* + c_kick) - m (V_F - V_R)`` (DIRT),
    the others to ``V* + c_kick``.  Bridge-fired neurons (``-inf``) are left
    for :func:`bridge_fixup`.

    Returns
    -------
    k : int
        Spikes counted here.
    n_capped : int
        DIRT neurons left at or above V_F by the firing cap.
    """
    V_F = levels[0]
    D = V_F - V_R
    k = 0
    n_capped = 0
    for i in range(V_new.shape[0]):
        if has_ref and ref[i] > 0.0:
            continue
        vs = V_new[i]
        m = n_fires(vs + c_count, levels)
        if m > 0:
            k += m
            if ccp:
                V_new[i] = V_R
            else:
                w = (vs + c_kick) - m * D
                V_new[i] = w
                if w >= V_F:
                    n_capped += 1
            if has_ref:
                ref_new[i] = tau_ref
        else:
            V_new[i] = vs + c_kick
    return k, n_capped


@_njit
def bridge_fixup(br_idx, s_b, nf, V_new, ref_new, has_ref, tau_ref, c_count, c_kick, V_R,
                 levels, ccp):
    """Reset the bridge-fired neurons; each fires ``max(1, n_fires(V* + c_count))`` times.

    Returns
    -------
    k : int
        Spikes of the bridge-fired neurons.
    n_capped : int
        DIRT neurons left at or above V_F by the firing cap.
    """
    V_F = levels[0]
    D = V_F - V_R
    k = 0
    n_capped = 0
    for j in range(nf):
        i = br_idx[j]
        vs = s_b[j]
        m = max(1, n_fires(vs + c_count, levels))
        k += m
        if ccp:
            V_new[i] = V_R
        else:
            w = (vs + c_kick) - m * D
            V_new[i] = w
            if w >= V_F:
                n_capped += 1
        if has_ref:
            ref_new[i] = tau_ref
    return k, n_capped
