"""Prometheus metrics of one platform (prometheus_client, a registry per app: no process-wide state).

Request latency is a histogram per endpoint family, observed by the counting middleware; the counters,
gauges and the ledger's size are read from the platform's state at scrape time by a collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from taxstorm.mock_platform.capacity import family_of
from taxstorm.mock_platform.settings import Family

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Snapshot = Callable[[], dict[str, Any]]  # what the collector reads: see StateCollector


class StateCollector(Collector):
    """Counters and gauges read from the platform's state when Prometheus scrapes."""

    def __init__(self, requests: Snapshot, capacity: Snapshot, ledger_invoices: Callable[[], int]) -> None:
        self._requests = requests
        self._capacity = capacity
        self._ledger_invoices = ledger_invoices

    def collect(self) -> Iterator[Metric]:
        snapshot = self._requests()
        requests = CounterMetricFamily(
            "taxstorm_requests",
            "Finished HTTP requests by route template and status",
            labels=["method", "route", "status"],
        )
        for row in snapshot["requests"]:
            requests.add_metric([row["method"], row["route"], str(row["status"])], row["count"])
        yield requests
        yield GaugeMetricFamily("taxstorm_in_flight", "HTTP requests being served now", value=snapshot["inFlight"])
        families = self._capacity()
        for name, key, kind, text in (
            ("taxstorm_family_in_service", "inService", "gauge", "Requests of a family in service (its slots taken)"),
            ("taxstorm_family_waiting", "waiting", "gauge", "Requests of a family waiting for a slot"),
            ("taxstorm_family_shed", "shed", "counter", "Requests of a family shed by the capacity model (503)"),
            ("taxstorm_family_rate_limited", "rateLimited", "counter", "Requests of a family refused 429"),
        ):
            family: GaugeMetricFamily | CounterMetricFamily
            if kind == "gauge":
                family = GaugeMetricFamily(name, text, labels=["family"])
            else:
                family = CounterMetricFamily(name, text, labels=["family"])
            for label, gate in families.items():
                family.add_metric([label], gate[key])
            yield family
        yield GaugeMetricFamily(
            "taxstorm_ledger_invoices", "Invoices in the ledger (blue and red)", value=self._ledger_invoices()
        )


class PlatformMetrics:
    """One platform's registry: the latency histogram and the state collector."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._latency = Histogram(
            "taxstorm_request_duration_seconds",
            "Time to answer an HTTP request, by endpoint family (other: health, admin, docs, reference data)",
            ["family"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._by_family = {name: self._latency.labels(name) for name in (*get_args(Family), "other")}

    def observe(self, method: str, path: str, seconds: float) -> None:
        """One answered request (called by the counting middleware)."""
        self._by_family[family_of(method, path) or "other"].observe(seconds)

    def watch(self, collector: StateCollector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)
