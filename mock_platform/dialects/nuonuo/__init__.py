"""The 诺诺开放平台 (Nuonuo open platform) dialect: ``/accessToken`` and ``POST /open/v1/services``."""
