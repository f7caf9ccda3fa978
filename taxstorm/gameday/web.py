"""The Chaos tab: a Flask blueprint (JSON API under /chaos/api/, the page at /chaos) for Locust's web UI.

Locust's React UI takes extra tabs as data (``extended_tabs`` + ``extended_tables`` in its template arguments,
rows in ``extended_stats`` of ``/stats/requests``): such a tab can only show a table, so the "Chaos" tab shows
the session's faults and notes, and the controls live on the /chaos page that a button on every Locust page
links to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from taxstorm.chaos.timeline import FaultApplyError, FaultEvent
from taxstorm.gameday.control import (
    ChaosControl,
    HaltedError,
    OperatorInputError,
    RevertError,
    UnknownLabelError,
)
from taxstorm.gameday.page import chaos_page

log = logging.getLogger(__name__)
TAB_KEY = "chaos"
TAB_COLUMNS = [
    {"key": "at", "title": "at"},
    {"key": "name", "title": "fault / note"},
    {"key": "kind", "title": "type"},
    {"key": "detail", "title": "parameters / text"},
    {"key": "status", "title": "status"},
]
EXPORT_NAME = "gameday-scenario.yaml"
LINK = (
    '<a id="chaos-link" href="/chaos" title="apply and revert faults, halt the run, take notes" style="position:fixed;'
    "right:24px;bottom:64px;z-index:2000;background:#c62828;color:#fff;padding:10px 18px;border-radius:8px;"
    'font:700 15px system-ui,sans-serif;text-decoration:none;box-shadow:0 2px 10px rgba(0,0,0,.35)">'
    "&#9889; Chaos controls</a>"
)


class LocustWebUI(Protocol):
    """What ``install`` needs of ``locust.web.WebUI``."""

    @property
    def app(self) -> Flask | None: ...

    @property
    def template_args(self) -> dict[str, Any]: ...


def _event_json(event: FaultEvent) -> dict[str, Any]:
    return {**asdict(event), "active": event.active}


def state_json(control: ChaosControl, errors: list[str]) -> dict[str, Any]:
    """Everything the page shows: the clock, active faults with time left, the timeline, notes, halt."""
    return {
        "now_s": round(control.clock(), 3),
        "halted": control.halted,
        "halted_s": control.halted_s,
        "active": [asdict(fault) for fault in control.active()],
        "events": [_event_json(event) for event in control.events],
        "notes": [asdict(note) for note in control.notes],
        "errors": errors + control.hook_errors,
    }


def tab_rows(control: ChaosControl) -> list[dict[str, str]]:
    """Rows of the Chaos tab inside Locust's UI, newest first."""
    left = {fault.label: fault.left_s for fault in control.active()}
    rows: list[tuple[float, dict[str, str]]] = []
    for event in control.events:
        detail = " ".join(f"{k}={v}" for k, v in event.params.items() if k != "type" and v is not None)
        if event.applied_s is None:
            status = event.error or "not applied"
        elif event.reverted_s is not None:
            status = f"reverted at {event.reverted_s:.1f} s"
        elif event.label in left:
            remaining = left[event.label]
            status = "active until reverted" if remaining is None else f"active, {remaining:.0f} s left"
            status += f" ({event.error})" if event.error else ""
        else:
            status = event.error or "active"
        at = event.applied_s if event.applied_s is not None else event.planned_apply_s
        rows.append((at, {"name": event.label, "kind": event.type, "detail": detail, "status": status}))
    for index, note in enumerate(control.notes):
        rows.append((note.at_s, {"name": f"note-{index + 1}", "kind": "note", "detail": note.text, "status": ""}))
    rows.sort(key=lambda row: row[0], reverse=True)
    return [{"at": f"{at:.1f} s", **row} for at, row in rows]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise OperatorInputError("body", "body: send a JSON object with Content-Type: application/json")
    return body


def _error(message: str, status: int, field: str | None = None) -> tuple[Response, int]:
    payload: dict[str, Any] = {"error": message, "status": status}
    if field is not None:
        payload["field"] = field
    return jsonify(payload), status


def chaos_blueprint(
    control: ChaosControl,
    on_halt: Callable[[str], None],
    export: Callable[[], str],
    on_finish: Callable[[], str] | None = None,
) -> Blueprint:
    """The /chaos page and its JSON API; ``on_halt(reason)`` stops the load, ``export()`` renders the YAML,
    ``on_finish()`` ends the session (returns where its report goes; None: this session cannot be finished here)."""
    bp = Blueprint("taxstorm_chaos", __name__)

    @bp.get("/chaos")
    def page() -> Response:
        return Response(chaos_page(), mimetype="text/html")

    @bp.get("/chaos/api/faults")
    def faults() -> Response:
        return jsonify({"faults": [asdict(info) for info in control.catalogue()]})

    @bp.get("/chaos/api/state")
    def state() -> Response:
        errors = control.tick()  # expiry is due anyway; the runner's ticker does the same every second
        return jsonify(state_json(control, errors))

    @bp.post("/chaos/api/apply")
    def apply() -> Response:
        body = _body()
        unknown = sorted(set(body) - {"type", "params", "for_s"})
        if unknown:
            raise OperatorInputError(unknown[0], f"{unknown[0]}: unknown key; send type, params and for_s")
        if "type" not in body:
            raise OperatorInputError("type", "type: required; name a fault, e.g. 'latency' (GET /chaos/api/faults)")
        event = control.apply(body["type"], body.get("params") or {}, body.get("for_s"))
        return jsonify({"applied": _event_json(event)})

    @bp.post("/chaos/api/revert")
    def revert() -> Response:
        label = _body().get("label")
        if not isinstance(label, str) or not label:
            raise OperatorInputError("label", "label: required; the active fault's label, e.g. 'latency-1'")
        return jsonify({"reverted": _event_json(control.revert(label))})

    @bp.post("/chaos/api/halt")
    def halt() -> Response:
        reason = _body().get("reason") or ""
        if not isinstance(reason, str):
            raise OperatorInputError("reason", "reason: give the reason as text")
        errors = control.halt(reason)
        on_halt(control.halted or reason)
        return jsonify({"halted": control.halted, "errors": errors})

    @bp.post("/chaos/api/note")
    def note() -> Response:
        return jsonify({"note": asdict(control.note(_body().get("text") or ""))})

    @bp.post("/chaos/api/finish")
    def finish() -> ResponseReturnValue:
        if on_finish is None:
            return _error("this session ends with its process (Ctrl-C or SIGTERM)", 409)
        return jsonify({"finishing": True, "report_dir": on_finish()})

    @bp.get("/chaos/api/export")
    def export_yaml() -> Response:
        response = Response(export(), mimetype="application/yaml")
        response.headers["Content-Disposition"] = f'attachment; filename="{EXPORT_NAME}"'
        return response

    @bp.errorhandler(OperatorInputError)
    def bad_input(exc: OperatorInputError) -> tuple[Response, int]:
        return _error(str(exc), 404 if isinstance(exc, UnknownLabelError) else 400, exc.field)

    @bp.errorhandler(HaltedError)
    def halted(exc: HaltedError) -> tuple[Response, int]:
        return _error(str(exc), 409)

    @bp.errorhandler(FaultApplyError)
    @bp.errorhandler(RevertError)
    def environment_failed(exc: Exception) -> tuple[Response, int]:
        return _error(str(exc), 502)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return _error(exc.description or exc.name, exc.code or 500)

    @bp.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("Chaos API: %s %s failed", request.method, request.path)
        return _error(f"{type(exc).__name__}: {exc}", 500)

    @bp.app_errorhandler(404)
    @bp.app_errorhandler(405)
    def api_not_found(exc: HTTPException) -> ResponseReturnValue:
        """JSON for unknown /chaos/api/ paths and methods; Locust's other pages keep their own answer."""
        if request.path.startswith("/chaos/api/"):
            return _error(f"{request.method} {request.path}: {exc.name}; see GET /chaos/api/faults", exc.code or 404)
        return exc.get_response()

    @bp.after_app_request
    def extend_locust(response: Response) -> Response:
        """Rows for the Chaos tab in ``/stats/requests``; the Chaos button on Locust's page."""
        if request.endpoint == "locust.request_stats" and response.is_json:
            data = response.get_json()
            if isinstance(data, dict):
                others = [s for s in data.get("extended_stats") or [] if s.get("key") != TAB_KEY]
                data["extended_stats"] = [*others, {"key": TAB_KEY, "data": tab_rows(control)}]
                response.set_data(jsonify(data).get_data())
        elif request.endpoint == "locust.index" and response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            if 'id="chaos-link"' not in html and "</body>" in html:
                response.set_data(html.replace("</body>", LINK + "</body>", 1))
        return response

    return bp


def install(web_ui: LocustWebUI, blueprint: Blueprint) -> None:
    """Register the blueprint on Locust's Flask app and add the Chaos tab (call before the UI serves requests:
    create the UI with ``delayed_start=True``, install, then ``start()``)."""
    if web_ui.app is None:
        raise RuntimeError("Locust's web UI has no Flask app to install the Chaos tab on")
    web_ui.app.register_blueprint(blueprint)
    args = web_ui.template_args

    def merged(key: str, entry: dict[str, Any], same: str) -> list[dict[str, Any]]:
        return [*(e for e in args.get(key) or [] if e.get(same) != entry[same]), entry]

    args["extended_tabs"] = merged("extended_tabs", {"title": "Chaos", "key": TAB_KEY}, "key")
    args["extended_tables"] = merged("extended_tables", {"key": TAB_KEY, "structure": TAB_COLUMNS}, "key")
    args["extended_csv_files"] = merged(
        "extended_csv_files", {"href": "/chaos/api/export", "title": "Export the game day as a scenario (YAML)"}, "href"
    )
    args["extended_csv_files"] = merged(
        "extended_csv_files", {"href": "/chaos", "title": "Open the Chaos controls"}, "href"
    )
