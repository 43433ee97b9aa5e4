"""Errors that kanvision raises for bad input.

Every message is one line that names the problem and says how to fix it; the CLI prints it as
``error: <message>`` and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KanvisionError(Exception):
    """Base class of all user-facing kanvision errors."""


class UnknownNameError(KanvisionError, KeyError):
    """A name (model, basis, dataset, ...) that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(KanvisionError, FileNotFoundError):
    """Dataset files are missing and could not be downloaded."""


class CheckpointError(KanvisionError, ValueError):
    """A checkpoint file is missing, corrupt, or does not fit the model."""


class SettingError(KanvisionError, ValueError):
    """A setting's value does not fit the data or the model (the message names the fix)."""


def unknown_name(kind: str, name: str, known: Iterable[str], hint: str) -> UnknownNameError:
    """Build an :class:`UnknownNameError` with a 'did you mean' suggestion."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f"did you mean '{close[0]}'? " if close else ""
    listing = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return UnknownNameError(
        f"unknown {kind} '{name}': {suggestion}choose one of [{listing}] ({hint})"
    )


class TwinError(KanvisionError, ValueError):
    """A twin was asked of a model that has none (already standard, or already matched)."""


class InputSizeError(KanvisionError, ValueError):
    """An architecture cannot take the requested input (image size, channels)."""


class DataIntegrityError(KanvisionError, ValueError):
    """A dataset file is present but fails its checksum (corrupt, partial, or a re-built copy)."""
