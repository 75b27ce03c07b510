"""Feed serving: requests per second from `calendar-tool serve` (the Starlette app under
uvicorn) against Python's own static file server (`http.server.ThreadingHTTPServer` with
`SimpleHTTPRequestHandler`, keep-alive) serving the same folder in the same run: the real
register's feeds, asked for all.ics (about 300 KB) by the same load generator (2 processes,
one keep-alive connection each), for a 304 (ours: If-None-Match; the static server knows only
If-Modified-Since) and for the whole file. Each server runs in a process of its own. Ratios
are rates: ours over the static server's (higher is better)."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 2
SECONDS = 3.0
FEED = "/all.ics"
BASELINE = "http.server (ThreadingHTTPServer, keep-alive), same folder"


def _serve_ours(feeds: Path, register: Path, db: str) -> None:
    """In a child process: the app under uvicorn, quiet, until stdin closes."""
    from calendar_tool.clock import FixedClock
    from calendar_tool.web import server

    app = server.make_app(register=register, feeds=feeds, db=db,
                          clock=FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))
    with server.BackgroundServer(app) as running:
        sys.stdout.write(f"{running.port}\n")
        sys.stdout.flush()
        sys.stdin.read()


def _serve_static(feeds: Path) -> None:
    """In a child process: the standard library's static file server, until stdin closes."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from typing import Any

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn does

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(Handler, directory=str(feeds)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sys.stdout.write(f"{httpd.server_address[1]}\n")
    sys.stdout.flush()
    sys.stdin.read()
    httpd.shutdown()


def _start(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.serve", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def _load(args: tuple[int, str, dict[str, str], int, float]) -> int:
    """One client: GET `path` on one keep-alive connection for `seconds`; the count."""
    port, path, headers, status, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == status, (path, response.status)
        done += 1
    conn.close()
    return done


def _rate(port: int, path: str, headers: dict[str, str], status: int) -> float:
    _load((port, path, headers, status, 0.3))  # warm up: caches, first compression
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        counts = pool.map(_load, [(port, path, headers, status, SECONDS)] * CLIENTS)
    return sum(counts) / SECONDS


def _validators(port: int, path: str) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Accept-Encoding": "identity"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.getheader("ETag") or "", response.getheader("Last-Modified") or ""


def run() -> list[dict[str, object]]:
    from calendar_tool import service, store
    from calendar_tool.clock import FixedClock
    from tests.registers import load_register

    register = ROOT / "obligations.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        feeds, db = Path(tmp) / "feeds", f"sqlite:///{Path(tmp) / 'store.db'}"
        engine = store.open_store(db)
        service.publish_feeds(engine, load_register(register), feeds,
                              FixedClock(datetime(2025, 6, 1, tzinfo=UTC)))
        engine.dispose()
        size = (feeds / FEED.lstrip("/")).stat().st_size
        ours, ours_port = _start("ours", str(feeds), str(register), db)
        static, static_port = _start("static", str(feeds))
        try:
            etag, _ = _validators(ours_port, f"/feeds{FEED}")
            _, modified = _validators(static_port, FEED)
            identity = {"Accept-Encoding": "identity"}
            ours_304 = _rate(ours_port, f"/feeds{FEED}", {**identity, "If-None-Match": etag},
                             304)
            static_304 = _rate(static_port, FEED, {**identity, "If-Modified-Since": modified},
                               304)
            ours_full = _rate(ours_port, f"/feeds{FEED}", identity, 200)
            static_full = _rate(static_port, FEED, identity, 200)
            ours_gzip = _rate(ours_port, f"/feeds{FEED}", {"Accept-Encoding": "gzip"}, 200)
        finally:
            _stop(ours)
            _stop(static)
    clients = f"{CLIENTS} keep-alive clients"
    return [
        {"name": f"304 Not Modified for all.ics ({clients})", "figure": ours_304,
         "unit": "requests/s", "baseline": BASELINE, "baseline_figure": static_304,
         "ratio": ours_304 / static_304},
        {"name": f"200 with all.ics, {size / 1024:.0f} KB ({clients})", "figure": ours_full,
         "unit": "requests/s", "baseline": BASELINE, "baseline_figure": static_full,
         "ratio": ours_full / static_full},
        {"name": f"200 with all.ics gzipped ({clients}; the static server has no gzip)",
         "figure": ours_gzip, "unit": "requests/s",
         "baseline": "the static server's uncompressed 200, same run",
         "baseline_figure": static_full, "ratio": ours_gzip / static_full},
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "ours":
        _serve_ours(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "static":
        _serve_static(Path(sys.argv[2]))
    else:
        os.chdir(ROOT)
        for row in run():
            sys.stdout.write(f"{row['name']}: {row['figure']:.0f} {row['unit']} "
                             f"(baseline {row['baseline_figure']:.0f}, {row['ratio']:.2f}x)\n")
