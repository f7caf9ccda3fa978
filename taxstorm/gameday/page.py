"""The Chaos page: a Jinja2 template with its stylesheet and script beside it (``assets/``), plain HTML and vanilla
JavaScript inlined into one page (no CDN, no build step: it works offline)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape


def _asset(name: str) -> str:
    return resources.files("taxstorm.gameday").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def chaos_page() -> str:
    """The page, rendered once per process (it has no per-request content: the script reads the JSON API)."""
    environment = Environment(loader=PackageLoader("taxstorm.gameday", "assets"), autoescape=select_autoescape())
    return environment.get_template("chaos.html").render(style=_asset("chaos.css"), script=_asset("chaos.js"))
