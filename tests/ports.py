"""Free ports for test servers, and where the repository is (no fixtures here: importable anywhere)."""
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def free_port(block: int = 1) -> int:
    """A port (or the first of `block` consecutive ports) nothing listens on, below Linux's ephemeral
    range (32768+), so no outgoing connection can take it between this check and the server's bind."""
    import random
    for _ in range(200):
        base = random.randrange(20000, 32000 - block)
        if all(port_free(base + i) for i in range(block)):
            return base
    raise RuntimeError("no free port")
