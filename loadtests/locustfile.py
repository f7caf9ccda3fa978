"""taxstorm's users for plain Locust (web UI, headless, distributed), without the harness.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --headless -u 12 -r 12 -t 2m \\
        --client resilient --pos-rate 2 --records operations.csv

Users (pick with class names on the command line, or ``--class-picker`` in the web UI):
``PointOfSale`` (B2C issuing), ``ErpTenant`` (B2B batches), ``Receiver`` (verification), ``ReturnsDesk``
(red-letter returns) and ``BackOffice`` (one user: period-start quota and number-segment housekeeping;
issuing users wait for its first round). Rates are per user; the client under test is ``--client``.
Every operation appears in Locust's statistics as type = operation, name = outcome; ``--records`` writes
the per-operation records (what each user was told) as CSV when the test stops. In distributed mode the
workers ship their records to the master with Locust's worker reports, and the master writes them.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from pydantic import TypeAdapter, ValidationError

from taxstorm.clients.protocol import load_factory, parse_options_json
from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.distributed import MasterCollector, WorkerShipper
from taxstorm.loadtests.erp import make_erp_user
from taxstorm.loadtests.housekeeping import HousekeepingPlan, make_housekeeping_user
from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.loadtests.receivers import make_receiver_user
from taxstorm.loadtests.records import Recorder
from taxstorm.loadtests.returns import make_returns_user
from taxstorm.loadtests.shapes import Shape, ShapeSpec, Steady
from taxstorm.loadtests.users import make_issuing_user
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY


def _options(parser: Any) -> None:
    group = parser.add_argument_group("taxstorm")
    group.add_argument("--client", default="resilient", help="client under test: built-in name or module:factory")
    group.add_argument("--client-options", default="{}", help="client options as a JSON object")
    group.add_argument("--state-dir", default="", help="where clients keep their outbox (default: a temp dir)")
    group.add_argument("--seed", type=int, default=42, help="order generator seed (same seed, same orders)")
    group.add_argument("--pos-rate", type=float, default=2.0, help="orders/s per PointOfSale user (steady)")
    group.add_argument("--pos-shape", default="", help="a load shape as JSON (per user), instead of --pos-rate")
    group.add_argument("--erp-rate", type=float, default=2.0, help="orders/s per ErpTenant user")
    group.add_argument("--batch-size", type=int, default=20, help="orders per ERP batch")
    group.add_argument("--verify-rate", type=float, default=1.0, help="verifications/s per Receiver user")
    group.add_argument("--returns-rate", type=float, default=0.2, help="returns/s per ReturnsDesk user")
    group.add_argument("--sellers", type=int, default=0, help="sellers BackOffice looks after (default: -u)")
    group.add_argument("--segments", action="store_true", help="the platform pre-assigns numbers (预赋码)")
    group.add_argument("--housekeeping-every", type=float, default=30.0, help="seconds between top-up rounds")
    group.add_argument("--max-in-flight", type=int, default=100, help="concurrent operations per user")
    group.add_argument("--records", default="", help="write per-operation records to this CSV at test stop")
    group.add_argument(
        "--credential-key",
        default=DEV_CREDENTIAL_KEY,
        help="the platform's credential_key: each seller's credential derives from it (default: the development key)",
    )


@dataclass
class _Bound:
    """The user classes of one Locust environment, bound to its LoadContext."""

    context: LoadContext
    classes: dict[str, type[User]]


_BOUND: WeakKeyDictionary[Environment, _Bound] = WeakKeyDictionary()
_RECORDERS: WeakKeyDictionary[Environment, Recorder] = WeakKeyDictionary()


class OptionError(ValueError):
    """A taxstorm option of the locustfile that cannot be used."""


def _shape(text: str, rate: float, option: str) -> Shape:
    if not text:
        return Steady(rate_per_s=rate)
    try:
        shape: Shape = TypeAdapter(ShapeSpec).validate_json(text)
    except ValidationError as exc:
        raise OptionError(
            f'{option}: {exc.errors(include_url=False)[0]["msg"]}; e.g. \'{{"type": "steady", "rate_per_s": 2}}\''
        ) from None
    return shape


def bind(environment: Environment) -> _Bound:
    """Build (once per environment) the context and the real user classes from the parsed options."""
    bound = _BOUND.get(environment)
    if bound is not None:
        return bound
    options = environment.parsed_options
    if options is None or not environment.host:
        raise OptionError("--host: give the platform's URL (the Toxiproxy listen address in a chaos run)")
    started = time.monotonic()
    state_dir = Path(options.state_dir or tempfile.mkdtemp(prefix="taxstorm-locust-"))
    if isinstance(environment.runner, WorkerRunner):  # the master hands every worker its own options
        state_dir = state_dir / environment.runner.client_id  # one outbox per process: no cross-worker drains
    context = LoadContext(
        client_factory=load_factory(options.client),
        base_url=environment.host,
        state_dir=state_dir,
        generator=OrderGenerator(options.seed, f"L{uuid.uuid4().hex[:8]}"),
        recorder=_RECORDERS.setdefault(environment, Recorder()),
        clock=lambda: time.monotonic() - started,
        client_options=parse_options_json(options.client_options, "--client-options"),
        credential_key=options.credential_key,
    )
    cap = options.max_in_flight
    plan = HousekeepingPlan(
        sellers=options.sellers or int(options.num_users or 1),
        segments=options.segments,
        every_s=options.housekeeping_every,
    )
    classes = {
        "PointOfSale": make_issuing_user(context, _shape(options.pos_shape, options.pos_rate, "--pos-shape"), 1, cap),
        "ErpTenant": make_erp_user(context, Steady(rate_per_s=options.erp_rate), 1, options.batch_size, 50, cap),
        "Receiver": make_receiver_user(context, Steady(rate_per_s=options.verify_rate), 1, 50, cap),
        "ReturnsDesk": make_returns_user(context, Steady(rate_per_s=options.returns_rate), 1, cap),
    }
    classes["BackOffice"] = make_housekeeping_user(context, plan)  # holds issuing users until its first round
    runs_here = any(user.__name__ == "BackOffice" for user in environment.user_classes)
    if not runs_here or type(environment.runner).__name__ != "LocalRunner":
        context.period_open.set()  # no back office in this process to wait for (or a distributed worker)
    bound = _BOUND[environment] = _Bound(context, classes)
    return bound


def _setup(environment: Environment, runner: Any = None, **_: Any) -> None:
    """Check the options; in distributed mode, workers ship their records to the master with their reports."""
    _check_options(environment)
    recorder = _RECORDERS.setdefault(environment, Recorder())
    if isinstance(runner, WorkerRunner):
        WorkerShipper(environment, recorder)
    elif isinstance(runner, MasterRunner):
        MasterCollector(environment, recorder)


def _check_options(environment: Environment) -> None:
    """Refuse bad taxstorm options before any user starts: one line naming the option, exit code 2."""
    options = environment.parsed_options
    if options is None:
        return
    try:
        load_factory(options.client)
        parse_options_json(options.client_options, "--client-options")
        _shape(options.pos_shape, options.pos_rate, "--pos-shape")
        for name in ("pos_rate", "erp_rate", "verify_rate", "returns_rate", "housekeeping_every"):
            if getattr(options, name) <= 0:
                raise OptionError(f"--{name.replace('_', '-')}: must be > 0")
        if options.batch_size < 1 or options.max_in_flight < 1:
            raise OptionError("--batch-size and --max-in-flight: must be >= 1")
    except ValueError as exc:
        sys.stderr.write(f"taxstorm locustfile: {exc}\n")
        raise SystemExit(2) from None


def _write_records(environment: Environment, **_: Any) -> None:
    """At each test stop (the master waits for quitting: its workers' last reports are still on the way)."""
    if not isinstance(environment.runner, MasterRunner):
        _write(environment)


def _write(environment: Environment) -> None:
    recorder = _RECORDERS.get(environment)
    options = environment.parsed_options
    worker = isinstance(environment.runner, WorkerRunner)  # a worker's records go to the master
    if recorder is not None and options is not None and options.records and not worker:
        recorder.write_csv(Path(options.records))


def _quit(environment: Environment, **_: Any) -> None:
    _write(environment)
    bound = _BOUND.pop(environment, None)
    if bound is not None:
        bound.context.close()


class _Delegating(User):
    """A locustfile user that runs the taxstorm user class of the same name, bound at first start."""

    abstract = True

    def wait_time(self) -> float:
        return float(self._real.wait_time())

    def on_start(self) -> None:
        real = bind(self.environment).classes[type(self).__name__]
        self._real: Any = real(self.environment)
        self._real.on_start()

    @task
    def work(self) -> None:
        for one in self._real.tasks:
            one(self._real)

    def on_stop(self) -> None:
        self._real.on_stop()


class PointOfSale(_Delegating):
    """B2C point-of-sale issuing through the client under test."""

    weight = 8


class ErpTenant(_Delegating):
    """B2B ERP batches through the client under test."""

    weight = 1


class Receiver(_Delegating):
    """Receivers verifying invoices clients reported issued."""

    weight = 1


class ReturnsDesk(_Delegating):
    """Red-letter returns of invoices clients reported issued."""

    weight = 1


class BackOffice(_Delegating):
    """Period-start quota and number-segment housekeeping for every seller (one user)."""

    fixed_count = 1


# a locustfile registers its listeners when Locust imports it
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.init.add_listener(_setup)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_write_records)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_quit)  # type: ignore[no-untyped-call]
