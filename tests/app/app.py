"""Editaliza reference app: the stand-in for the platform's image in the lab and in tests.

Standard library plus Debian's python3-psycopg2 and python3-redis. Configuration comes from
the environment (the `app` role writes it into a root-only env file):

  APP_PORT             port to listen on (all addresses)            default 8080
  APP_VERSION          version string, reported by / and /healthz   baked into the image
  APP_COLOR            deploy colour (blue/green), reported by /     default ""
  APP_INSTANCE         instance name, reported by / and in logs      default hostname
  DATABASE_URL         libpq URL (through pgbouncer); optional
  DATABASE_SSLROOTCERT CA file for verify-full                       optional
  REDIS_SENTINELS      host:port,... of Redis Sentinel; optional
  REDIS_SENTINEL_PASSWORD, REDIS_SESSIONS_MASTER, REDIS_USERNAME, REDIS_PASSWORD,
  REDIS_TLS_CA         Sentinel and instance credentials; TLS when the CA is set
  APP_BROKEN           when "1", /healthz always fails (a broken release, for deploy tests)

Endpoints:
  GET  /                 {"version", "color", "instance"}
  GET  /healthz          200 when the database and Redis answer (those configured), else 503
  GET  /static/app.css   a static asset (cacheable)
  GET  /api/plans        a cacheable JSON list (Cache-Control: public)
  POST /api/notes        body -> a row in PostgreSQL; returns {"id": n}
  GET  /api/notes/<id>   that row
  POST /auth/login       a session in Redis; returns {"session": token}
  GET  /auth/session     the session named by the X-Session header, or 401
  GET  /metrics          Prometheus text: request counts and a latency histogram

Logs: one JSON object per request on stdout, with the request id (X-Request-Id, or a
generated one, echoed in the response).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "0.0.0")
COLOR = os.environ.get("APP_COLOR", "")
INSTANCE = os.environ.get("APP_INSTANCE") or socket.gethostname()
BROKEN = os.environ.get("APP_BROKEN") == "1"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CSS = ("body { font-family: sans-serif; margin: 0 auto; max-width: 60rem; }\n" * 40).encode()

_lock = threading.Lock()
_requests: dict[tuple[str, str, int], int] = {}
_hist: dict[str, list[int]] = {}
_hist_sum: dict[str, float] = {}


_pool = None
_pool_lock = threading.Lock()


class _Database:
    """A connection from the process's pool for one request (psycopg2's thread-safe pool:
    connections to pgbouncer are kept open between requests)."""

    def __enter__(self):
        self.conn = _get_pool().getconn()
        if self.conn.closed:
            _get_pool().putconn(self.conn, close=True)
            self.conn = _get_pool().getconn()
        return self.conn.cursor()

    def __exit__(self, exc_type, exc, tb):
        broken = exc_type is not None and self.conn.closed
        _get_pool().putconn(self.conn, close=broken)
        return False


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            import psycopg2.pool

            kwargs = {"connect_timeout": 3}
            if os.environ.get("DATABASE_SSLROOTCERT"):
                kwargs.update(sslmode="verify-full", sslrootcert=os.environ["DATABASE_SSLROOTCERT"])
            pool = psycopg2.pool.ThreadedConnectionPool(1, 8, os.environ["DATABASE_URL"], **kwargs)
            conn = pool.getconn()
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, body text NOT NULL,"
                    " created_at timestamptz NOT NULL DEFAULT now())"
                )
            pool.putconn(conn)
            _pool = pool
    return _pool


def _db():
    """A cursor context for one request, or None when no database is configured."""
    if not os.environ.get("DATABASE_URL"):
        return None
    return _Database()


_redis_client = None


def _redis():
    global _redis_client
    sentinels = os.environ.get("REDIS_SENTINELS")
    if not sentinels:
        return None
    if _redis_client is None:
        from redis.sentinel import Sentinel

        tls = {}
        if os.environ.get("REDIS_TLS_CA"):
            tls = {"ssl": True, "ssl_ca_certs": os.environ["REDIS_TLS_CA"]}
        nodes = [(h, int(p)) for h, p in (s.rsplit(":", 1) for s in sentinels.split(","))]
        sentinel = Sentinel(
            nodes,
            socket_timeout=2,
            sentinel_kwargs={"password": os.environ.get("REDIS_SENTINEL_PASSWORD"), "socket_timeout": 2, **tls},
            username=os.environ.get("REDIS_USERNAME"),
            password=os.environ.get("REDIS_PASSWORD"),
            **tls,
        )
        _redis_client = sentinel.master_for(os.environ.get("REDIS_SESSIONS_MASTER", "sessions"), socket_timeout=2)
    return _redis_client


def _observe(method, path, status, seconds):
    route = path.split("?")[0]
    if route.startswith("/api/notes/"):
        route = "/api/notes/:id"
    with _lock:
        key = (method, route, status)
        _requests[key] = _requests.get(key, 0) + 1
        counts = _hist.setdefault(route, [0] * (len(BUCKETS) + 1))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        counts[-1] += 1
        _hist_sum[route] = _hist_sum.get(route, 0.0) + seconds


def _metrics():
    lines = [
        "# HELP editaliza_build_info The running version.",
        "# TYPE editaliza_build_info gauge",
        f'editaliza_build_info{{version="{VERSION}",color="{COLOR}"}} 1',
        "# HELP editaliza_http_requests_total HTTP requests by method, route and status.",
        "# TYPE editaliza_http_requests_total counter",
    ]
    with _lock:
        for (method, route, status), n in sorted(_requests.items()):
            lines.append(f'editaliza_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
        lines += [
            "# HELP editaliza_http_request_duration_seconds Request latency by route.",
            "# TYPE editaliza_http_request_duration_seconds histogram",
        ]
        for route, counts in sorted(_hist.items()):
            for bound, n in zip(BUCKETS, counts[:-1], strict=True):
                lines.append(f'editaliza_http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {n}')
            lines.append(f'editaliza_http_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} {counts[-1]}')
            lines.append(f'editaliza_http_request_duration_seconds_sum{{route="{route}"}} {_hist_sum[route]:.6f}')
            lines.append(f'editaliza_http_request_duration_seconds_count{{route="{route}"}} {counts[-1]}')
    return ("\n".join(lines) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "editaliza-ref"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # replaced by the JSON line in _send
        pass

    def _send(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", self.request_id)
        self.send_header("X-App-Instance", INSTANCE)
        self.send_header("X-App-Version", VERSION)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        seconds = time.monotonic() - self.started
        _observe(self.command, self.path, status, seconds)
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "level": "info" if status < 500 else "error",
            "request_id": self.request_id,
            "method": self.command,
            "path": self.path,
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            "user": getattr(self, "user", None),
            "instance": INSTANCE,
            "version": VERSION,
        }
        print(json.dumps(record), flush=True)

    def _begin(self):
        self.started = time.monotonic()
        self.request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self._begin()
        path = self.path.split("?")[0]
        try:
            if path == "/":
                self._send(200, {"version": VERSION, "color": COLOR, "instance": INSTANCE})
            elif path == "/healthz":
                self._healthz()
            elif path == "/metrics":
                self._send(200, _metrics(), "text/plain; version=0.0.4")
            elif path == "/static/app.css":
                self._send(200, CSS, "text/css", {"Cache-Control": "public, max-age=300"})
            elif path == "/api/plans":
                plans = [{"id": i, "exam": f"Concurso {i}", "weeks": 12 + i % 8, "subjects":
                          ["Português", "Direito Constitucional", "Raciocínio Lógico", "Informática"]}
                         for i in range(1, 41)]
                self._send(200, {"version": VERSION, "plans": plans}, headers={"Cache-Control": "public, max-age=60"})
            elif path.startswith("/api/notes/"):
                with _db() as cur:
                    cur.execute("SELECT id, body FROM notes WHERE id = %s", (int(path.rsplit("/", 1)[1]),))
                    row = cur.fetchone()
                self._send(200, {"id": row[0], "body": row[1]}) if row else self._send(404, {"error": "not found"})
            elif path == "/auth/session":
                token = self.headers.get("X-Session", "")
                user = _redis().get(f"session:{token}") if token else None
                if user:
                    self.user = user.decode()
                    self._send(200, {"user": self.user})
                else:
                    self._send(401, {"error": "no session"})
            else:
                self._send(404, {"error": "not found"})
        except Exception as exc:
            self._send(500, {"error": type(exc).__name__})

    def do_POST(self):
        self._begin()
        path = self.path.split("?")[0]
        try:
            body = self._body()
            if path == "/api/notes":
                with _db() as cur:
                    cur.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (body.decode() or "",))
                    self._send(201, {"id": cur.fetchone()[0]})
            elif path == "/auth/login":
                user = (json.loads(body or b"{}").get("user") or "anonymous")[:64]
                token = secrets.token_hex(16)
                _redis().set(f"session:{token}", user, ex=3600)
                self.user = user
                self._send(200, {"session": token})
            else:
                self._send(404, {"error": "not found"})
        except Exception as exc:
            self._send(500, {"error": type(exc).__name__})

    def _healthz(self):
        checks = {}
        ok = not BROKEN
        if BROKEN:
            checks["release"] = "broken on purpose (APP_BROKEN=1)"
        try:
            if _db() is not None:
                with _db() as cur:
                    cur.execute("SELECT 1")
                checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
            ok = False
        try:
            if _redis() is not None:
                _redis().ping()
                checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
            ok = False
        self._send(200 if ok else 503, {"status": "ok" if ok else "failing", "version": VERSION, "checks": checks})


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("APP_PORT", "8080"))), Handler)  # noqa: S104
    # On SIGTERM the server stops accepting, then server_close() waits for the requests
    # in flight (non-daemon threads): a graceful stop loses nothing.
    server.daemon_threads = False

    def stop(*_):
        # Finish the requests in flight, then exit: `docker stop` sends SIGTERM.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"level": "info", "msg": "listening", "version": VERSION, "instance": INSTANCE}), flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
