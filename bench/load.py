"""The load generator: N concurrent users, each a keep-alive HTTP connection with its own session.

Runs as its own process (`python -m bench.load …`), so the client never shares an
interpreter with the server. Each scenario is one *operation* (a POST that
redirects counts as one operation: the POST plus the GET it is sent to), timed from
the first byte sent to the last byte read. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class HttpError(RuntimeError):
    """A request answered something the scenario did not expect."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def sql(self) -> int:
        return int(self.headers.get("x-sql-count", "0"))


@dataclass
class Client:
    """One user: a persistent connection, a cookie jar (name → value) and a CSRF token."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    bearer: str | None = None
    csrf: str | None = None

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> Response:
        headers = {"User-Agent": "crm-bench/1", "Accept": "text/html,application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                raw = self.conn.getresponse()
                data = raw.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection
                if attempt == 2:
                    raise
        for name, value in raw.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                self.cookies[key.strip()] = val.strip()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)

    def get(self, path: str, expect: int = 200) -> Response:
        response = self.request("GET", path)
        if response.status != expect:
            raise HttpError(f"GET {path} → {response.status}")
        return response

    def post_form(self, path: str, data: dict) -> Response:
        body = urlencode({**data, "csrf_token": self.csrf or ""}, doseq=True).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def post_json(self, path: str, data: dict) -> Response:
        return self.request("POST", path, json.dumps(data).encode(), "application/json")

    def follow(self, response: Response) -> Response:
        """The GET a browser makes after a 302/303."""
        if response.status not in (301, 302, 303):
            raise HttpError(f"expected a redirect, got {response.status}: "
                            f"{response.body[:300]!r}")
        location = urlsplit(response.headers["location"])
        path = location.path + (f"?{location.query}" if location.query else "")
        return self.get(path)

    def sign_in(self, email: str, password: str) -> None:
        self.refresh_csrf("/login")
        done = self.post_form("/login", {"email": email, "password": password})
        if done.status != 302:
            raise HttpError(f"sign-in failed: {done.status} {done.body[:300]!r}")
        self.refresh_csrf("/")

    def refresh_csrf(self, path: str) -> None:
        match = _CSRF_META.search(self.get(path).body.decode("utf-8", "replace"))
        if not match:
            raise HttpError(f"no CSRF token on {path}")
        self.csrf = match.group(1)


# --- scenarios: each returns the SQL statements the operation ran -------------------

def _get(path: str):
    def run(client: Client, n: int) -> int:
        return client.get(path).sql
    return run


def _log_interaction(spec: dict):
    partners = spec["partner_ids"]

    def run(client: Client, n: int) -> int:
        data = dict(spec["form"])
        data[spec.get("partner_field", "partner_id")] = str(partners[n % len(partners)])
        posted = client.post_form(spec["path"], data)
        return posted.sql + client.follow(posted).sql
    return run


def _api_create(spec: dict):
    def run(client: Client, n: int) -> int:
        body = dict(spec["json"])
        body["name"] = f"{body['name']} {threading.get_ident() % 100000}-{n}"
        response = client.post_json(spec["path"], body)
        if response.status != 201:
            raise HttpError(f"POST {spec['path']} → {response.status}: {response.body[:300]!r}")
        return response.sql
    return run


def build_operation(spec: dict):
    kind = spec["kind"]
    if kind == "get":
        return _get(spec["path"])
    if kind == "log_interaction":
        return _log_interaction(spec)
    if kind == "api_create":
        return _api_create(spec)
    raise ValueError(f"unknown scenario kind {kind!r}")


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_scenario(spec: dict, host: str, port: int, users: int, duration: float,
                 warmup: float) -> dict:
    """Sign `users` clients in, warm up, then hammer for `duration` seconds."""
    clients = []
    for index in range(users):
        client = Client(host, port)
        if spec.get("bearer"):
            client.bearer = spec["bearer"]
        elif index == 0:
            client.sign_in(spec["email"], spec["password"])
        else:  # one real sign-in (argon2 is slow on purpose); the others reuse its cookie
            client.cookies, client.csrf = dict(clients[0].cookies), clients[0].csrf
        clients.append(client)
    operation = build_operation(spec)
    latencies: list[float] = []
    sql_counts: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_at = time.perf_counter() + 0.2
    measure_from = start_at + warmup
    stop_at = measure_from + duration

    def user(index: int, client: Client) -> None:
        n = index * 1_000_000
        while time.perf_counter() < start_at:
            time.sleep(0.005)
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            try:
                sql = operation(client, n)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                client.conn.close()
                n += 1
                continue
            ended = time.perf_counter()
            n += 1
            if measure_from <= ended <= stop_at:  # completions inside the window
                with lock:
                    latencies.append(ended - began)
                    sql_counts.append(sql)

    threads = [threading.Thread(target=user, args=(i, c), daemon=True)
               for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "scenario": spec["name"],
        "requests": len(latencies),
        "errors": len(errors),
        "error_sample": errors[:3],
        "seconds": duration,
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "sql_per_request": round(statistics.median(sql_counts), 1) if sql_counts else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--spec", required=True, help="the scenario as JSON")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    result = run_scenario(json.loads(args.spec), parts.hostname, parts.port, args.users,
                          args.duration, args.warmup)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
