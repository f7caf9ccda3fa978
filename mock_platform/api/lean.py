"""A route class for the platform's hottest route: documented by FastAPI like any other, served without FastAPI's
general request solver.

FastAPI reads an endpoint's signature twice: once to write the OpenAPI document and once per request to solve its
parameters (dependency tree, query parameters, then the body parsed with ``json.loads`` and validated as Python
objects). On the issue path that per-request solving cost more than the platform's own business rules (measured
with benchmarks/platform_throughput.py). ``LeanRoute`` keeps the first and replaces the second for endpoints of
one simple shape: request-only ``async`` dependencies, query and path parameters, and one JSON body that is a
pydantic model, validated from the raw bytes by pydantic (``model_validate_json``). Refusals are the same
``RequestValidationError`` (the same first error, the same envelope) that FastAPI raises, in the same order:
dependencies, parameters, body.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
JSON_TYPES = ("application/json",)


class LeanRoute(APIRoute):
    """An APIRoute that validates its JSON body straight from bytes and calls request-only dependencies directly."""

    def get_route_handler(self) -> Handler:
        dependant = self.dependant
        model = _body_model(self)
        body_name = self.body_field.name if self.body_field is not None else None
        dependencies = [_request_only(sub, self.path) for sub in dependant.dependencies]
        endpoint = dependant.call
        defaults = _query_defaults(dependant)
        if endpoint is None or not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"LeanRoute {self.path}: the endpoint must be an async def")

        async def handle(request: Request) -> Response:
            body: BaseModel | RequestValidationError | None = None
            if model is not None:
                body = await json_body(request, model)
                if isinstance(body, RequestValidationError) and _undecodable(body):
                    raise body  # FastAPI decodes the body before it solves anything else
            values: dict[str, Any] = {}
            for name, call in dependencies:
                values[name] = await call(request)
            errors: list[Any] = []
            if dependant.path_params:
                found, wrong = request_params_to_args(dependant.path_params, request.path_params)
                values.update(found)
                errors += wrong
            if defaults is not None and not request.scope.get("query_string"):  # the usual call: nothing to parse
                values.update(defaults)
            elif dependant.query_params:
                found, wrong = request_params_to_args(dependant.query_params, request.query_params)
                values.update(found)
                errors += wrong
            if errors:
                raise RequestValidationError(errors)
            if isinstance(body, RequestValidationError):
                raise body
            if body_name is not None:
                values[body_name] = body
            response: Response = await endpoint(**values)
            return response

        return handle


async def json_body(request: Request, model: type[BaseModel]) -> BaseModel | RequestValidationError:
    """The request's body validated as ``model``, or the refusal FastAPI would raise (its loc starts with ``body``)."""
    raw = await request.body()
    if not raw:
        return RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not (content_type in JSON_TYPES or (content_type.startswith("application/") and content_type.endswith("+json"))):
        message = "Input should be a valid dictionary or object to extract fields from"
        return RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",), "msg": message, "input": raw}]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        return RequestValidationError(_in_body(exc.errors(include_url=False)))


def _undecodable(refusal: RequestValidationError) -> bool:
    """A body that is not JSON at all (FastAPI refuses it before the dependencies run)."""
    return any(error["type"] == "json_invalid" for error in refusal.errors())


def _in_body(errors: Sequence[Any]) -> list[Any]:
    return [{**error, "loc": ("body", *error["loc"])} for error in errors]


def _query_defaults(dependant: Dependant) -> dict[str, Any] | None:
    """The values of the query parameters when the request has none, or None if one of them is required."""
    fields = dependant.query_params
    if any(field.field_info.is_required() for field in fields):
        return None
    return {field.name: field.get_default() for field in fields}


def _body_model(route: APIRoute) -> type[BaseModel] | None:
    field = route.body_field
    if field is None:
        return None
    annotation = field.field_info.annotation
    if route._embed_body_fields or not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"LeanRoute {route.path}: the body must be one pydantic model, not embedded")
    return annotation


def _request_only(sub: Dependant, path: str) -> tuple[str, Callable[[Request], Coroutine[Any, Any, Any]]]:
    """A dependency LeanRoute can call itself: ``async def f(request: Request)`` with nothing else to solve."""
    params = (sub.path_params, sub.query_params, sub.header_params, sub.cookie_params, sub.body_params)
    call = sub.call
    if (
        sub.name is None
        or call is None
        or sub.dependencies
        or any(params)
        or not sub.request_param_name
        or not inspect.iscoroutinefunction(call)
    ):
        raise TypeError(f"LeanRoute {path}: dependency {sub.name} must be an async def taking only the request")
    return sub.name, call
