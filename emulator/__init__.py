"""Cycle-accurate fixed-point LIF core emulator."""

__version__ = "0.1.0"
