"""Conformance: replay golden vectors on the emulator and report the first mismatch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emulator.engine import RunResult, simulate
from emulator.profile import load_profile
from emulator.vectors import Case, VectorsError, case_network, read_vectors

__all__ = ["CaseReport", "Mismatch", "VerifyReport", "result_arrays", "verify"]


@dataclass(frozen=True)
class Mismatch:
    """The first value that differs: case, variable, tick (1-based), neuron (index or (neuron, synapse))."""

    case: str
    variable: str
    tick: int
    neuron: int | tuple
    expected: int
    got: int

    def __str__(self) -> str:
        return (f"case {self.case}: {self.variable} at tick {self.tick}, neuron {self.neuron}: "
                f"expected {self.expected}, got {self.got}")


@dataclass(frozen=True)
class CaseReport:
    """Result of one case: the number of values compared per variable and the first mismatch."""

    name: str
    profile: str
    compared: dict
    mismatch: Mismatch | None
    mismatches: int = 0

    @property
    def ok(self) -> bool:
        """True when every value is bit-exact."""
        return self.mismatch is None


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify` on one file."""

    file: str
    cases: list[CaseReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every case is bit-exact."""
        return all(c.ok for c in self.cases)

    @property
    def mismatch(self) -> Mismatch | None:
        """The first mismatch, in case order, or None."""
        return next((c.mismatch for c in self.cases if c.mismatch), None)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"file": self.file, "ok": self.ok,
                "cases": [{"name": c.name, "profile": c.profile, "ok": c.ok,
                           "compared": c.compared, "mismatches": c.mismatches,
                           "first_mismatch": None if c.ok else vars(c.mismatch)}
                          for c in self.cases]}

    def __str__(self) -> str:
        lines = []
        for c in self.cases:
            n = sum(c.compared.values())
            if c.ok:
                lines.append(f"ok       {c.name} ({c.profile}): {n} values bit-exact "
                             f"({', '.join(c.compared)})")
            else:
                lines.append(f"MISMATCH {c.mismatch} ({c.mismatches} of {n} values differ)")
        return "\n".join(lines)


def result_arrays(result: RunResult, profile_state: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The run's per-tick arrays by vectors name: state registers, ``spikes``, ``a_in`` (run 0)."""
    out = {"spikes": result.spike_counts(0)}
    for name, tr in result.traces.items():
        out[name] = tr[:, 0]
    return out


def _check_case(case: Case) -> CaseReport:
    profile = load_profile(case.profile)
    net = case_network(profile, case)
    res = simulate(profile, net, case.input, ticks=case.steps, trace="all")
    got = result_arrays(res, tuple(profile.state))
    first, total, compared = None, 0, {}
    for var, exp in case.expect.items():
        if var not in got:
            raise VectorsError("the emulator does not record this variable", file=case.file,
                               key=f"{case.name}/expect/{var}", allowed=", ".join(got))
        g = got[var]
        if g.shape != exp.shape:
            raise VectorsError("expected values have the wrong shape", file=case.file,
                               key=f"{case.name}/expect/{var}", value=f"shape {exp.shape}",
                               allowed=f"{g.shape}")
        bad = np.argwhere(g != exp)
        compared[var] = int(exp.size)
        total += len(bad)
        if len(bad):
            idx = tuple(bad[0])
            m = Mismatch(case.name, var, int(idx[0]) + 1,
                         int(idx[1]) if len(idx) == 2 else tuple(int(i) for i in idx[1:]),
                         int(exp[idx]), int(g[idx]))
            if first is None or (m.tick, str(m.neuron)) < (first.tick, str(first.neuron)):
                first = m
    return CaseReport(case.name, case.profile, compared, first, total)


def verify(path: str | Path) -> VerifyReport:
    """Check the emulator against the golden vectors in ``path``.

    Returns
    -------
    VerifyReport
        ``report.ok`` is True when every recorded value of every case is
        bit-exact; ``report.mismatch`` is the first difference (case,
        variable, tick, neuron, expected, got), earliest tick first.

    Raises
    ------
    VectorsError
        The file is malformed (missing key, wrong shape, unknown format).
    """
    cases = read_vectors(path)
    return VerifyReport(str(path), [_check_case(c) for c in cases])
