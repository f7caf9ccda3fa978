"""The real Toxiproxy server: install, process lifecycle and a per-instance API adapter."""
