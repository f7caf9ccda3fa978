"""Black-box conformance suite of the mock tax platform (HTTP only; see support.py)."""
