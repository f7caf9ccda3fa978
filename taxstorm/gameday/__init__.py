"""Game day mode: operators apply and revert faults by hand on a live run (the Chaos tab of Locust's web UI).

``control`` is pure Python (no Flask, no Locust) so unit tests can import it; ``web`` is the Flask side.
"""
