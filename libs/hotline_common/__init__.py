"""Shared by every hotline service: events, outbox/inbox, providers, clock, config, logging."""
