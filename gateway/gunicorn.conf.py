"""gunicorn settings for the gateway, from environment variables. Threads, never eventlet."""
import os

# Local runs (`make run`) listen on the loopback like every other process of the stack; the image runs
# with HOTLINE_ENV=production, where the container's port must be reachable from outside it.
_default_host = "0.0.0.0" if os.environ.get("HOTLINE_ENV") == "production" else "127.0.0.1"
bind = f"{os.environ.get('GATEWAY_HOST', _default_host)}:{os.environ.get('GATEWAY_PORT', '8000')}"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = "gateway.worker.SheddingWorker"   # gthread, with a bound on queueing (gateway/worker.py)
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = int(os.environ.get("GATEWAY_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("GATEWAY_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def child_exit(server, worker):
    # prometheus multiprocess mode: forget a dead worker's live gauges
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
