"""Falcon resources, one per noun; each gets its collaborators in __init__ (thin: HTTP <-> RPC)."""
