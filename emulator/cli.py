"""The ``fxlif`` command line.

Each subcommand lives in its own module ``emulator/cmd_<name>.py`` that
defines ``add_arguments(parser)`` and ``run(args) -> int``; this file only
builds the parser, dispatches, and turns errors into exit codes:

* 0: success;
* 1: a check failed (a mismatch, a failed comparison);
* 2: bad input, reported as one line on stderr, never a traceback.

Results go to files or stdout, logs and progress bars to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from reference.errors import FxlifError, InputError

__all__ = ["main"]

#: subcommand -> (module, one-line help)
COMMANDS = {
    "profiles": ("emulator.cmd_profiles", "list hardware profiles, or show one field by field"),
    "run": ("emulator.cmd_run", "run a scenario on a hardware profile"),
    "verify": ("emulator.cmd_verify", "check the emulator against golden vectors"),
    "vectors": ("emulator.cmd_vectors", "make golden vectors from the emulator"),
    "reference": ("emulator.cmd_reference", "run the float reference solver on a scenario"),
    "map": ("emulator.cmd_map", "map a scenario's float model onto a profile's registers"),
    "flags": ("emulator.cmd_flags", "predict where the quantised dynamics diverge, and why"),
    "demo": ("emulator.cmd_demo", "run the example scenarios on every profile, write a report"),
    "sweep": ("emulator.cmd_sweep",
              "precision trade-off sweeps over profiles x overrides x scenarios x seeds"),
    "report": ("emulator.cmd_report", "an HTML report of a sweep folder"),
    "compare": ("emulator.cmd_compare",
                "run a scenario on the float reference and on profiles, side by side"),
    "divergence": ("emulator.cmd_divergence",
                   "maps of the flags and predicted rate error over a parameter plane"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and one line on a usage error."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(available: dict[str, object] | None = None) -> argparse.ArgumentParser:
    """Return the ``fxlif`` parser with every available subcommand."""
    from emulator import __version__

    parser = _Parser(prog="fxlif", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"fxlif {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in (available or _available()).items():
        p = sub.add_parser(name, help=COMMANDS[name][1], description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _available() -> dict[str, object]:
    found = {}
    for name, (modname, _) in COMMANDS.items():
        try:
            found[name] = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:  # a real import error inside the module
                raise
    return found


def main(argv: list[str] | None = None) -> int:
    """Run ``fxlif`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except InputError as exc:
        print(f"fxlif {args.command}: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except FxlifError as exc:
        print(f"fxlif {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:           # a file or folder that cannot be read or written
        if isinstance(exc, BrokenPipeError):
            sys.stderr.close()
            return 0
        where = f" {exc.filename}" if exc.filename else ""
        print(f"fxlif {args.command}: error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fxlif {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
