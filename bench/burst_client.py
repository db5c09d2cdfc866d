"""Slack's side of ``bench slack``, in its own process: ``python -m bench.burst_client < requests.json``.

In reality Slack is a remote client; its 40 senders must not share the app's interpreter (the GIL),
or the benchmark measures the client as much as the app. Reads ``{"port": P, "requests": [{"body":
TEXT, "headers": {...}}, ...]}`` on stdin, sends every request at once (one thread and one new
connection each, released together by a barrier) as ``POST /slack/events`` to 127.0.0.1:P, and
writes ``{"started": UNIX_TIME, "replies": [{"status": N, "body": TEXT, "elapsed": SECONDS}, ...]}``
on stdout, in request order; ``elapsed`` runs from sending the request (connecting included) to
the whole response having been read. Bodies are printed up to 2000 characters.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from typing import Any


def send_all(port: int, requests: list[dict[str, Any]], timeout: float = 30.0) -> dict[str, Any]:
    replies: list[dict[str, Any]] = [{"status": 0, "body": "not sent", "elapsed": 0.0} for _ in requests]
    barrier = threading.Barrier(len(requests) + 1)

    def send(i: int, req: dict[str, Any]) -> None:
        body = str(req["body"]).encode()
        headers = {str(k): str(v) for k, v in dict(req["headers"]).items()}
        barrier.wait(timeout)
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("POST", "/slack/events", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            replies[i] = {"status": resp.status, "body": data[:2000], "elapsed": time.perf_counter() - started}
        except OSError as exc:
            replies[i] = {"status": 0, "body": f"{type(exc).__name__}: {exc}", "elapsed": time.perf_counter() - started}
        finally:
            conn.close()

    threads = [threading.Thread(target=send, args=(i, r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    barrier.wait(timeout)
    started = time.time()
    for t in threads:
        t.join(timeout)
    return {"started": started, "replies": replies}


def main() -> None:
    order = json.load(sys.stdin)
    json.dump(send_all(int(order["port"]), list(order["requests"])), sys.stdout)


if __name__ == "__main__":
    main()
