"""taxstorm: chaos and load testing for e-invoicing platforms and the client systems that depend on them."""

__version__ = "0.2.0"
