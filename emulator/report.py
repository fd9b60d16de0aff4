"""A self-contained HTML report of a sweep folder (``fxlif report DIR``).

It reads ``DIR/sweep.json``, ``DIR/results.csv`` and the point files, and
writes ``DIR/report.html`` with the PNG plots embedded (base64):

1. **Error against bit cost** for every error column (``rate_err_*``): each
   point, the worst error of each configuration (profile + overrides) over
   scenarios and seeds, and the Pareto front of (``bit_cost``, worst error):
   the configurations no other one beats on both.  A configuration infeasible
   on some scenario (a register cannot hold the network) is left off the front.
   The tolerance of the sweep (``settings.tolerance``) is drawn and the
   cheapest configuration within it is named.
2. **How often each flag fires per setting**: for every override value, the
   fraction of computed points where each flag fired; the emulator's events
   (an overflow of a state variable, a silent population) are counted too.
3. **The worst points** with their configuration, error, flags and overflows.
4. **Infeasible and missing points**, with the reason.
5. **The exact registers of each point**: the profile's layout (widths,
   overflow, decay, rounding) and the network's register values, each
   distinct register set listed once.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
from collections import defaultdict
from pathlib import Path

from emulator.io import atomic_write
from emulator.sweep import SweepError, points_dir, read_table

__all__ = ["ERROR_PREFIX", "pareto_front", "write_report"]

ERROR_PREFIX = "rate_err_"      # columns that are relative errors (lower is better)
WORST_SHOWN = 12                # rows in the worst-points table
SYMLOG_FLOOR = 1e-4             # errors below this are drawn on the linear part of the axis


def pareto_front(items: list[tuple[float, float, object]]) -> list[tuple[float, float, object]]:
    """Return the (cost, error, tag) items no other item beats on both, sorted by cost.

    An item is on the front if every cheaper-or-equal item has a larger error.

    Examples
    --------
    >>> [t for _, _, t in pareto_front([(1, 0.5, "a"), (2, 0.1, "b"), (3, 0.2, "c"),
    ...                                 (3, 0.0, "d")])]
    ['a', 'b', 'd']
    """
    front, best = [], math.inf
    for cost, err, tag in sorted(items, key=lambda x: (x[0], x[1])):
        if err < best:
            front.append((cost, err, tag))
            best = err
    return front


def _esc(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4g}"
    return html.escape(str(x))


def _table(headers, rows, cls="") -> str:
    out = [f"<table class='{cls}'><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in headers)
           + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else _esc(c)}</td>"
                                    for c in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


class _Raw(str):
    """HTML that must not be escaped."""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return ("<img alt='plot' src='data:image/png;base64,"
            + base64.b64encode(buf.getvalue()).decode() + "'/>")


def _config_label(row, okeys) -> str:
    parts = [row["profile"]] + [f"{k[4:]}={row[k]}" for k in okeys if row.get(k) is not None]
    return " ".join(str(p) for p in parts)


def _error_section(col, rows, okeys, tol, cost_col) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_cfg = defaultdict(list)
    for r in rows:
        by_cfg[_config_label(r, okeys)].append(r)
    cfgs = []
    for label, rs in by_cfg.items():
        errs = [r.get(col) for r in rs if r["status"] == "ok"]
        feasible = all(r["status"] == "ok" for r in rs)
        if not errs or any(e is None for e in errs):
            continue
        cfgs.append({"label": label, "cost": rs[0].get(cost_col), "worst": max(errs),
                     "mean": sum(errs) / len(errs), "n": len(errs), "feasible": feasible})
    if not cfgs:
        return f"<p>No computed values of <code>{_esc(col)}</code>.</p>"
    front = pareto_front([(c["cost"], c["worst"], c["label"]) for c in cfgs if c["feasible"]])
    on_front = {t for _, _, t in front}

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    pts = [(r.get(cost_col), r.get(col)) for r in rows if r["status"] == "ok"
           and r.get(col) is not None]
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color="0.75",
               label="points (all scenarios, seeds)")
    ax.scatter([c["cost"] for c in cfgs], [c["worst"] for c in cfgs], s=28, color="C0",
               label="configuration: worst case")
    if front:
        xs = [f[0] for f in front]
        ys = [f[1] for f in front]
        ax.step(xs, ys, where="post", color="C3", lw=1.5, label="Pareto front")
        ax.scatter(xs, ys, s=50, facecolors="none", edgecolors="C3")
    ax.axhline(tol, color="C2", ls="--", lw=1, label=f"tolerance {tol:g}")
    ax.set_yscale("symlog", linthresh=SYMLOG_FLOOR)
    top = max([tol] + [p[1] for p in pts] + [c["worst"] for c in cfgs])
    ax.set_ylim(0, top * 2)                   # errors are >= 0; 0 sits on the linear part
    ax.set_xlabel(f"{cost_col} (bits per neuron)")
    ax.set_ylabel(col)
    ax.set_title(f"{col} against {cost_col}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    img = _png(fig)

    within = sorted((c for c in cfgs if c["feasible"] and c["worst"] <= tol),
                    key=lambda c: (c["cost"], c["worst"], c["label"]))
    answer = (f"<p><b>Cheapest configuration within {tol:g}</b> (worst case over "
              f"scenarios and seeds): {_esc(within[0]['label'])} at {within[0]['cost']} "
              f"bits, worst {within[0]['worst']:.3g}.</p>" if within else
              f"<p><b>No configuration stays within {tol:g}</b> on every scenario and "
              "seed.</p>")
    rows_t = [(c["label"], c["cost"], c["worst"], c["mean"], c["n"],
               "yes" if c["worst"] <= tol else "no",
               "front" if c["label"] in on_front else ("" if c["feasible"] else "infeasible "
                                                       "elsewhere"))
              for c in sorted(cfgs, key=lambda c: (c["cost"], c["worst"], c["label"]))]
    return (img + answer + "<details><summary>every configuration</summary>"
            + _table(["configuration", cost_col, "worst", "mean", "points", "within tol.",
                      "Pareto"], rows_t) + "</details>")


def _value_order(v):
    """Sort key for mixed column values: numbers, then strings, then missing (None)."""
    return (v is None, isinstance(v, str), "" if v is None else v)


def _flag_section(rows, okeys) -> str:
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        return "<p>No computed points.</p>"
    events = {}
    for c in sorted({k for r in ok for k in r if k.startswith("flag_")}):
        events[c[5:]] = (lambda r, c=c: bool(r.get(c)))
    for c in sorted({k for r in ok for k in r if k.startswith("warn_")}):
        events[f"map:{c[5:]}"] = (lambda r, c=c: bool(r.get(c)))
    for c in sorted({k for r in ok for k in r if k.startswith(("overflow_", "chip_overflow_"))}):
        events[c] = (lambda r, c=c: (r.get(c) or 0) > 0)
    if any(r.get("silent_fraction") is not None or r.get("chip_silent_fraction") is not None
           for r in ok):
        events["silent>50%"] = lambda r: max(r.get("silent_fraction") or 0,
                                             r.get("chip_silent_fraction") or 0) > 0.5
    if not events:
        return "<p>No flags or events recorded.</p>"
    names = list(events)
    body = []
    for k in okeys + ["profile", "scenario"]:
        values = sorted({r.get(k) for r in ok}, key=_value_order)
        for v in values:
            sel = [r for r in ok if r.get(k) == v]
            cells = []
            for n in names:
                frac = sum(events[n](r) for r in sel) / len(sel)
                shade = int(255 - 120 * frac)
                cells.append(_Raw(f"<span style='background:rgb(255,{shade},{shade});"
                                  f"padding:0 4px'>{frac:.0%}</span>"))
            body.append([k[4:] if k.startswith("set.") else k, v, len(sel)] + cells)
    return ("<p>Fraction of computed points where each flag or event fires, per setting.</p>"
            + _table(["key", "value", "points"] + names, body))


def _worst_section(rows, col, okeys) -> str:
    ok = [r for r in rows if r["status"] == "ok" and r.get(col) is not None]
    ok.sort(key=lambda r: (-r[col], r["point_id"]))
    body = []
    ovf = sorted({k for r in rows for k in r if k.startswith("overflow_")})
    for r in ok[:WORST_SHOWN]:
        body.append([_Raw(f"<a href='#p{r['point_id']}'>{r['point_id']}</a>"),
                     _config_label(r, okeys), r["scenario"], r["seed"], r[col],
                     r.get("flags") or ""] + [r.get(k) for k in ovf])
    return _table(["point", "configuration", "scenario", "seed", col, "flags"] + ovf, body)


def _summarise(value):
    """Return registers as compact JSON: arrays in full (they are the exact values)."""
    return json.dumps(value, separators=(",", ":"))


def _registers_section(rows, okeys, pdir: Path) -> str:
    sets, point_rows = {}, []
    for r in rows:
        f = pdir / f"{r['point_id']}.json"
        try:
            rec = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        layout = rec.get("profile_registers", {})
        state = ", ".join(f"{k}: {s['bits']}b {'s' if s['signed'] else 'u'} {s['overflow']}"
                          for k, s in layout.get("state", {}).items())
        decay = ", ".join(f"{k}: {d['kind']} >>{d['shift']} {d['rounding']}"
                          for k, d in layout.get("decay", {}).items())
        regs = rec.get("details", {}).get("registers")
        rid = ""
        if regs is not None:
            text = json.dumps(regs, sort_keys=True)
            rid = hashlib.sha256(text.encode()).hexdigest()[:8]
            sets.setdefault(rid, regs)
        point_rows.append([_Raw(f"<span id='p{r['point_id']}'>{r['point_id']}</span>"),
                           _config_label(r, okeys), r["scenario"], r["seed"], r["status"],
                           state, decay,
                           _Raw(f"<a href='#r{rid}'>{rid}</a>") if rid else ""])
    out = [_table(["point", "configuration", "scenario", "seed", "status", "state registers",
                   "decay", "register set"], point_rows)]
    for rid, regs in sets.items():
        scal = {k: v for k, v in regs.items() if not isinstance(v, (list, dict))}
        out.append(f"<details id='r{rid}'><summary>register set {rid}: "
                   f"{_esc(', '.join(f'{k}={v}' for k, v in scal.items()))}</summary><pre>")
        for k, v in regs.items():
            out.append(f"{_esc(k)} = {_esc(_summarise(v))}")
        out.append("</pre></details>")
    return "\n".join(out)


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#eee} pre{font-size:11px;white-space:pre-wrap;word-break:break-all}
code{background:#f4f4f4}"""


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of the sweep folder ``folder``; return its path.

    Raises
    ------
    SweepError
        ``folder`` is not a sweep folder (no ``results.csv`` or ``sweep.json``).
    """
    folder = Path(folder)
    table, meta_f = folder / "results.csv", folder / "sweep.json"
    if not table.is_file() or not meta_f.is_file():
        raise SweepError("not a sweep folder (no results.csv and sweep.json)", key="DIR",
                         value=str(folder), allowed="the --out folder of fxlif sweep")
    try:
        meta = json.loads(meta_f.read_text())
        columns, rows = read_table(table)
    except (ValueError, StopIteration) as exc:
        raise SweepError(f"unreadable sweep folder: {exc}", key="DIR",
                         value=str(folder)) from None
    okeys = [c for c in columns if c.startswith("set.")]
    tol = float(meta.get("settings", {}).get("tolerance", 0.01))
    cost_col = "bit_cost" if "bit_cost" in columns else "bits_state"
    err_cols = [c for c in columns if c.startswith(ERROR_PREFIX)]
    counts = defaultdict(int)
    for r in rows:
        counts[r["status"]] += 1
    parts = [f"<h1>fxlif sweep report</h1><p>{_esc(meta.get('description', ''))}</p>",
             f"<p>Sweep file <code>{_esc(meta.get('file'))}</code>, metrics "
             f"{_esc(', '.join(meta.get('metrics', [])))}, fxlif "
             f"{_esc(meta.get('fxlif_version'))}; {len(rows)} points: "
             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".</p>",
             f"<p>Bit cost: <code>{cost_col}</code> = the state register widths of one "
             "neuron (times its synaptic compartments) plus its per-neuron parameter "
             "registers. Errors are relative: "
             "<code>rate_err_baseline</code> against the sweep's baseline configuration "
             "on the same scenario and seed, <code>rate_err_float</code> the mapped chip "
             "against the float reference.</p>"]
    base = meta.get("baseline")
    if base:
        parts.append(f"<p>Baseline: {_esc(base['profile'])} "
                     f"{_esc(json.dumps(base.get('overrides', {})))}.</p>")
    parts.append("<h2>1. Error against bit cost</h2>")
    if not err_cols:
        parts.append("<p>No error columns (add a [baseline] or the flags metric).</p>")
    for col in err_cols:
        parts.append(f"<h3>{_esc(col)}</h3>" + _error_section(col, rows, okeys, tol, cost_col))
    parts.append("<h2>2. Flags and events per setting</h2>" + _flag_section(rows, okeys))
    if err_cols:
        primary = "rate_err_float" if "rate_err_float" in err_cols else err_cols[0]
        parts.append(f"<h2>3. Worst points by {_esc(primary)}</h2>"
                     + _worst_section(rows, primary, okeys))
    bad = [r for r in rows if r["status"] != "ok"]
    parts.append("<h2>4. Infeasible and missing points</h2>")
    if bad:
        by_msg = defaultdict(list)
        for r in bad:
            by_msg[(r["status"], r.get("message") or "")].append(r)
        parts.append(_table(["status", "points", "configurations", "reason"],
                            [(s, len(rs), "; ".join(sorted({_config_label(r, okeys)
                                                            for r in rs})), m)
                             for (s, m), rs in sorted(by_msg.items())]))
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>5. Registers of each point</h2>"
                 + _registers_section(rows, okeys, points_dir(folder)))
    text = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>fxlif sweep report"
            f"</title><style>{_CSS}</style></head><body>" + "\n".join(parts)
            + "</body></html>\n")
    path = Path(out) if out else folder / "report.html"
    return atomic_write(path, lambda fh: fh.write(text.encode()))

