"""Process faults on the local platform process: crash and restart, hang, rolling upgrade and rollback, and a
restart on a bad TLS certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import FaultSpec


class ProcessFault(Fault[Any]):
    """A fault on the platform's process (local mode only)."""

    def process(self) -> PlatformProcess:
        if self.context.process is None:
            raise RuntimeError(f"{self.spec.type} needs the platform process (local mode)")
        return self.context.process


class CrashSpec(FaultSpec):
    """SIGKILL the platform at ``at_s``; it restarts on the same port when the fault ends (``for_s``)."""

    type: Literal["crash"] = "crash"


class CrashFault(ProcessFault):
    spec_type = CrashSpec
    summary = "kill -9 the platform; restart it (same port, same ledger) when the fault ends"

    def apply(self) -> None:
        self.process().kill()

    def revert(self) -> None:
        process = self.process()
        if not process.alive():
            process.start()


class HangSpec(FaultSpec):
    """SIGSTOP the platform: connections are accepted by the kernel, nothing answers; SIGCONT on revert."""

    type: Literal["hang"] = "hang"


class HangFault(ProcessFault):
    spec_type = HangSpec
    summary = "freeze the platform (SIGSTOP) until the fault ends (SIGCONT)"

    def apply(self) -> None:
        self.process().pause()

    def revert(self) -> None:
        self.process().resume()


class RollingUpgradeSpec(FaultSpec):
    """Stop the platform and start it with another release profile (the downtime is real); revert rolls back."""

    type: Literal["rolling_upgrade"] = "rolling_upgrade"
    release: str = Field(description="release profile to upgrade to, e.g. renamed-field")


class RollingUpgradeFault(ProcessFault):
    spec_type = RollingUpgradeSpec
    summary = "restart the platform on another release, then roll back"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._previous: str | None = None

    def apply(self) -> None:
        process = self.process()
        self._previous = process.release
        process.stop()
        process.start(release=self.spec.release)

    def revert(self) -> None:
        if self._previous is None:
            return
        process = self.process()
        process.stop()
        process.start(release=self._previous)
        self._previous = None


class BadCertificateSpec(FaultSpec):
    """Restart the platform serving a certificate clients must refuse (the restart's downtime is real), as real
    platforms have after a restart: ``expired`` (an old certificate loaded again), ``wrong_host`` (one issued for
    another name). Revert restarts it with a good one. Needs ``platform: {tls: true}``."""

    type: Literal["bad_certificate"] = "bad_certificate"
    problem: Literal["expired", "wrong_host"] = Field("expired", description="expired | wrong_host")

    def slot(self) -> str | None:
        return "certificate"


class BadCertificateFault(ProcessFault):
    spec_type = BadCertificateSpec
    summary = (
        "restart the platform on an expired or wrong-host certificate (TLS runs); revert restarts it on a good one"
    )

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._swapped = False

    def apply(self) -> None:
        process = self.process()
        if process.issuer is None:
            raise RuntimeError("bad_certificate needs an HTTPS platform: set platform: {tls: true}")
        self._swapped = True  # from here on, a revert restarts it on a good certificate (even after a failed start)
        if self.spec.problem == "expired":
            ended = datetime.now(UTC) - timedelta(days=1)
            bad = process.issuer.issue(not_before=ended - timedelta(days=365), not_after=ended)
        else:
            bad = process.issuer.issue(names=("wrong-host.invalid",))
        process.stop()
        process.start(certificate=bad, verified=False)

    def revert(self) -> None:
        process = self.process()
        if not self._swapped or process.issuer is None:
            return
        process.stop()
        process.start(certificate=process.issuer.issue())
        self._swapped = False


FAULTS: tuple[type[Fault[Any]], ...] = (CrashFault, HangFault, RollingUpgradeFault, BadCertificateFault)
PROCESS_SPECS = CrashSpec | HangSpec | RollingUpgradeSpec | BadCertificateSpec
