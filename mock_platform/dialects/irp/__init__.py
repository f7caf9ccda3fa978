"""The India IRP dialect (NIC e-invoice API as GSPs and ERPs call it): ``/eivital/v1.04/auth`` and
``/eicore/v1.03/Invoice``."""
