"""`hostguard serve` spreads requests over its worker processes: no connection pins one worker.

A gthread worker keeps every keep-alive connection it accepted, so a client or a proxy holding
a few connections open could send all the load to one process while the others idle. The
server closes each connection after its answer, and the next request goes to whichever
worker accepts it. A worker whose threads are all busy accepts no more connections, so a
request never queues behind a busy worker while another is free.
"""

from __future__ import annotations

import http.client
import json
import socket

from tests.ops.helpers import free_port, process_env, start, stop, wait_for


def answers_healthz(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


def test_each_answer_closes_its_connection_and_both_workers_serve(runtime, tmp_path):
    port = free_port()
    env = process_env(runtime, HOSTGUARD_ROLES="api,matcher", HOSTGUARD_LOG_LEVEL="INFO")
    log = tmp_path / "serve.log"
    server = start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--threads", "2"],
        env,
        log,
    )
    try:
        wait_for(lambda: answers_healthz(port), timeout=60, what="the server")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/v1/openapi.json")  # HTTP/1.1: the client asks to keep it open
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Connection", "").lower() == "close"
        for _ in range(60):
            one = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            one.request("GET", "/api/v1/openapi.json")
            one.getresponse().read()
            one.close()
    finally:
        assert stop(server) == 0
    pids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "request" and record.get("route") == "/api/v1/openapi.json":
                pids.add(record["pid"])
    assert len(pids) == 2, pids


def test_a_worker_with_every_thread_busy_leaves_new_connections_to_the_others(runtime, tmp_path):
    port = free_port()
    env = process_env(runtime, HOSTGUARD_ROLES="api,matcher")
    server = start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--threads", "1"],
        env,
        tmp_path / "serve.log",
    )
    stuck = None
    try:
        wait_for(lambda: answers_healthz(port), timeout=60, what="the server")
        # A notice whose body never finishes arriving: the worker that took it has its only
        # thread waiting for the rest, until this test closes the connection.
        stuck = socket.create_connection(("127.0.0.1", port), timeout=5)
        stuck.sendall(
            b"POST /api/v1/notices HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"url": '
        )
        # Were the busy worker still accepting, about half of these would wait behind it
        # (all eight reaching the free one by chance: 1 in 256).
        for _ in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        if stuck is not None:
            stuck.close()
        assert stop(server) == 0
