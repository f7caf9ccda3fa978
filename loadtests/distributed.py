"""Per-operation records in Locust's distributed mode, through Locust's own worker reports.

Workers attach the records, the client's defects, expected totals and arrival counts gathered since their last
report to the regular ``report_to_master`` payload (each record leaves the worker exactly once); the master's
``worker_report`` listener adds them to its recorder. A worker says ``done`` while its users are stopped and
nothing is left to ship, so the master knows when the collection is complete.

Reports come every 3 s, so a master that must judge "now" (the steady-state check before the first fault,
halt conditions) asks for a flush: every worker answers at once with the same kind of shipment, tagged with
the flush's number, and the master knows whose records are in up to that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import astuple
from decimal import Decimal
from typing import Any

from locust.env import Environment

from taxstorm.loadtests.records import OperationRecord, Recorder

KEY = "taxstorm"
FLUSH_MESSAGE = "taxstorm_flush"  # master → workers: ship what you have now (data: the flush's number)
SHIPMENT_MESSAGE = "taxstorm_shipment"  # worker → master: {KEY: shipment, "flush": number}


class WorkerShipper:
    """Ships what a worker's recorder gathered, once, with each report to the master."""

    def __init__(
        self, environment: Environment, recorder: Recorder, status: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self.environment = environment
        self.recorder = recorder
        self.status = status or dict  # what else the master should know (a harness worker: backlog, drained)
        self._sent_records = 0
        self._sent_orders = 0  # orders shipped so far (the recorder numbers them in the order they came)
        self._sent_arrivals = 0
        self._sent_dropped = 0
        environment.events.report_to_master.add_listener(self.on_report)  # type: ignore[no-untyped-call]

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        data[KEY] = self.shipment()

    def on_flush(self, environment: Environment, msg: Any, **_: Any) -> None:
        """The master's flush: ship now, outside the report cycle (Locust's own stats wait for their report)."""
        runner = environment.runner
        if runner is not None:
            runner.send_message(SHIPMENT_MESSAGE, {KEY: self.shipment(), "flush": msg.data})

    def shipment(self) -> dict[str, Any]:
        """Everything gathered since the last shipment; each record leaves once."""
        recorder = self.recorder
        status = self.status()  # before the records: a status saying "drained" ships with the last drained record
        records = recorder.since(self._sent_records)
        self._sent_records += len(records)
        orders = recorder.orders_since(self._sent_orders)
        self._sent_orders += len(orders)
        expected = {ref: str(total) for ref, total in orders}
        arrivals, dropped = recorder.arrivals - self._sent_arrivals, recorder.dropped - self._sent_dropped
        self._sent_arrivals, self._sent_dropped = recorder.arrivals, recorder.dropped
        runner = self.environment.runner
        stopped = runner is not None and runner.user_count == 0 and runner.state in ("stopped", "ready", "cleanup")
        return {
            "records": [list(astuple(r)) for r in records],
            "defects": recorder.defects.unshipped(),
            "expected": expected,
            "arrivals": arrivals,
            "dropped": dropped,
            "done": bool(stopped and recorder.in_flight == 0),
            "status": status,
        }


class MasterCollector:
    """Gathers the workers' shipments into the master's recorder."""

    def __init__(self, environment: Environment, recorder: Recorder) -> None:
        self.recorder = recorder
        self.done: dict[str, bool] = {}
        self.status: dict[str, dict[str, Any]] = {}  # each worker's latest status
        self.flushed: dict[str, int] = {}  # the number of the last flush each worker answered
        environment.events.worker_report.add_listener(self.on_report)  # type: ignore[no-untyped-call]

    def on_shipment(self, environment: Environment, msg: Any, **_: Any) -> None:
        """A worker's answer to a flush."""
        self.on_report(msg.node_id, msg.data)
        self.flushed[msg.node_id] = int(msg.data["flush"])

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        shipment = data.get(KEY)
        if shipment is None:
            return
        for row in shipment["records"]:
            self.recorder.add(OperationRecord(*row))
        self.recorder.defects.merge(shipment.get("defects", []))
        for ref, total in shipment["expected"].items():
            self.recorder.order_created(ref, Decimal(total))
        self.recorder.arrivals += shipment["arrivals"]
        self.recorder.dropped += shipment["dropped"]
        self.done[client_id] = shipment["done"]
        self.status[client_id] = shipment.get("status", {})

    def complete(self, workers: int, gone: Collection[str] = ()) -> bool:
        """Every worker has reported that it stopped with nothing left to ship (but those ``gone``: dead)."""
        return len(self.done) >= workers and all(done for worker, done in self.done.items() if worker not in gone)
