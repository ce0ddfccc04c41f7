"""gunicorn settings for hostguard in production.

`hostguard serve` reads this file when HOSTGUARD_GUNICORN_CONFIG names it (the container
image does); only the --host/--port/--workers/--threads options given on its command line
override it. It also works with
plain gunicorn:  gunicorn -c deploy/gunicorn.conf.py 'hostguard.web:create_app()'
"""

import os

from hostguard.ops.server import child_exit, on_exit, on_starting, when_ready  # noqa: F401

bind = os.environ.get("HOSTGUARD_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("HOSTGUARD_WEB_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("HOSTGUARD_WEB_THREADS", "4"))
# A worker accepts only as many connections as it has threads; the rest wait in the kernel's
# listen queue for whichever worker frees a thread first, instead of queueing behind one
# worker's busy threads while another idles (hostguard's requests are CPU-bound).
worker_connections = threads
# Slow clients are held by the reverse proxy, not here; a request longer than this is a bug.
timeout = 60
graceful_timeout = 30
# No keep-alive: a gthread worker keeps the connections it accepted, so the proxy's pooled
# connections would pin the load on a few workers; per request, the next free one answers.
keepalive = 0
# Workers are recycled now and then so a slow leak cannot grow without bound; the match
# index is a shared memory-mapped snapshot, so a new worker starts quickly.
max_requests = 20000
max_requests_jitter = 2000
# hostguard writes one JSON line per request itself (request id, route, status, duration,
# no client address); gunicorn's access log would add the client address and full path.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("HOSTGUARD_LOG_LEVEL", "info").lower()
# Trust X-Forwarded-* only from the reverse proxy in front of hostguard.
forwarded_allow_ips = os.environ.get("HOSTGUARD_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Let the kernel, not gunicorn, pick free files for worker heartbeats (no disk writes).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
