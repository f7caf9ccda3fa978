"""Renderers of a RunResult (terminal, JSON); they only read it."""
