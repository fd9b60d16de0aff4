#!/usr/bin/env bash
# Build the Python 3.10 virtual environment that runs Lava (lava-nc) for the live
# differential tests (tests/live/test_lava_live.py). Idempotent: when the venv already
# imports the Lava bit-accurate models, nothing is installed.
#
# Environment:
#   FXLIF_LAVA_VENV    venv directory (default: $HOME/.cache/fxlif/lava-venv)
#   FXLIF_LAVA_PYTHON  Python 3.10 interpreter to build it with
#                      (default: pyenv 3.10.13, else python3.10 on PATH)
#   FXLIF_LAVA_SPEC    pip requirement for Lava (default: lava-nc)
#
# On success the last line of stdout is the venv's python path.
set -euo pipefail

VENV="${FXLIF_LAVA_VENV:-$HOME/.cache/fxlif/lava-venv}"
SPEC="${FXLIF_LAVA_SPEC:-lava-nc}"

find_python() {
    if [[ -n "${FXLIF_LAVA_PYTHON:-}" ]]; then
        echo "$FXLIF_LAVA_PYTHON"; return 0
    fi
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    for cand in "$root"/versions/3.10.*/bin/python /root/.pyenv/versions/3.10.*/bin/python; do
        if [[ -x "$cand" ]]; then echo "$cand"; return 0; fi
    done
    if command -v python3.10 >/dev/null 2>&1; then command -v python3.10; return 0; fi
    return 1
}

CHECK='import lava.magma.core.run_configs, lava.proc.lif.models, lava.proc.dense.models, lava.proc.io.source, lava.proc.monitor.process'

ready() { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; }

if ready; then
    echo "lava venv ready: $VENV" >&2
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
# one build at a time (two test sessions may ask at once); the second finds it ready
if command -v flock >/dev/null 2>&1; then
    exec 9>"$VENV.lock"
    flock 9
    if ready; then
        echo "lava venv ready: $VENV" >&2
        echo "$VENV/bin/python"
        exit 0
    fi
fi

PY="$(find_python)" || { echo "live_setup: no Python 3.10 interpreter found (set FXLIF_LAVA_PYTHON)" >&2; exit 2; }
ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$ver" != "3.10" ]]; then
    echo "live_setup: $PY is Python $ver; lava-nc needs 3.10" >&2
    exit 2
fi

echo "live_setup: building $VENV with $PY ($SPEC)" >&2
# a half-built venv from an interrupted run is rebuilt from scratch; anything else in
# the way is left alone
if [[ -e "$VENV" ]]; then
    if [[ -f "$VENV/pyvenv.cfg" ]] || [[ -z "$(ls -A "$VENV")" ]]; then
        rm -rf "$VENV"
    else
        echo "live_setup: $VENV exists and is not a virtual environment; not touching it" >&2
        exit 2
    fi
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet "$SPEC" >&2

if ! "$VENV/bin/python" -c "$CHECK" >&2; then
    echo "live_setup: lava installed into $VENV but does not import" >&2
    exit 3
fi
echo "lava venv ready: $VENV" >&2
echo "$VENV/bin/python"
