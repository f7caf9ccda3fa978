"""The harness's error tree; each branch has its own exit code (DESIGN.md "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a run's exit status means to a CI pipeline."""

    PASSED = 0
    GATES_FAILED = 1
    INVALID_INPUT = 2
    ENVIRONMENT_ERROR = 3
    REVERT_FAILED = 4


class TaxstormError(Exception):
    """Base of every error the CLI turns into an exit code and a one-paragraph message."""

    exit_code = ExitCode.ENVIRONMENT_ERROR


class InvalidInputError(TaxstormError):
    """A scenario file, flag or option is wrong; the message names the field and the fix."""

    exit_code = ExitCode.INVALID_INPUT


class EnvironmentError_(TaxstormError):
    """The harness's own environment failed (Toxiproxy, the platform, ports): not the system under test."""

    exit_code = ExitCode.ENVIRONMENT_ERROR


class RevertFailedError(TaxstormError):
    """A fault could not be reverted: the environment may be dirty; run ``taxstorm reset``."""

    exit_code = ExitCode.REVERT_FAILED
