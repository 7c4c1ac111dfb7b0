"""The Falcon gateway in front of the services (D2)."""
