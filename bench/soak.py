"""A soak of the HTTP service at a fixed request rate, with model reloads (issue 12, item 3).

Serves the shop and model of ``bench/serve.py`` (same ``--workdir``; built there when missing)
with ``toyguide serve --workers N`` and sends, for ``--seconds``, an open-loop stream of
requests at ``--rate`` a second — each request leaves at its scheduled time whether or not the
earlier ones came back, so a slow server meets the same load as a fast one — mixing
``POST /v1/recommendations`` (known shoppers) and ``POST /v1/guide`` (``--guide-share`` of
them). Every ``--reload-every`` seconds ``POST /v1/admin/reload`` swaps the model folder in
again. Every 10 s it samples the resident memory of each server process.

Prints one JSON document: requests, failed requests (any non-2xx answer or socket error, by
route), p50/p99 latency per route, the achieved rate, each reload's status and seconds, and
memory — per process, its median over the first and the last minute and the growth between
them (the goal: under 5 %, zero failed requests, zero failed reloads).

    python bench/soak.py --workers 2 --rate 70 --seconds 600 --workdir W --out FILE
    python bench/soak.py --quick                  # small shop, 40 s, reloads every 10 s
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

import common  # bench/common.py: python puts the script's folder first on sys.path
import serve  # bench/serve.py: the shop, the model and the server it starts

SAMPLE_S = 10


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rate", type=float, default=70.0, help="requests a second, all routes")
    p.add_argument("--guide-share", type=float, default=0.2)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--reload-every", type=float, default=30.0)
    p.add_argument("--senders", type=int, default=16, help="client threads (open loop)")
    p.add_argument("--shoppers", type=int, default=20_000)
    p.add_argument("--items", type=int, default=12_000)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.shoppers, args.items, args.weeks = 1_000, 600, 20
        args.seconds, args.reload_every, args.rate = 40, 10.0, 20.0
    too_short = args.seconds < 120 and not args.quick  # a first and a last minute
    if not 0 <= args.guide_share <= 1 or args.rate <= 0 or too_short:
        p.error("--guide-share must be in [0, 1], --rate > 0 and --seconds >= 120")
    return args


class Recorder:
    """Latencies and failures per route, appended from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.failed: dict[str, list[str]] = {}
        self.late: list[float] = []

    def add(self, route: str, ms: float, error: str | None, late_ms: float) -> None:
        with self.lock:
            self.latency.setdefault(route, []).append(ms)
            self.late.append(late_ms)
            if error is not None:
                self.failed.setdefault(route, []).append(error)


def send_schedule(
    port: int, requests: list[tuple[str, dict]], start: float, rate: float, senders: int,
    record: Recorder,
) -> list[threading.Thread]:  # fmt: skip
    """Threads that send request i at ``start + i / rate`` (thread i % senders sends it)."""

    def sender(k: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
            for i in range(k, len(requests), senders):
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                route, body = requests[i]
                sent = time.perf_counter()
                error = None
                try:
                    status = client.post(route, json=body).status_code
                    error = None if 200 <= status < 300 else f"HTTP {status}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                done = time.perf_counter()
                record.add(route, (done - sent) * 1e3, error, max(0.0, sent - due) * 1e3)

    return [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(senders)]


def workload(store: Path, n: int, guide_share: float) -> list[tuple[str, dict]]:
    """``n`` requests: recommendations for known shoppers with ``guide_share`` of guide texts
    spread evenly among them."""
    shoppers = serve.shopper_ids(store)
    out, guide_debt = [], 0.0
    for i in range(n):
        guide_debt += guide_share
        if guide_debt >= 1:
            guide_debt -= 1
            out.append(("/v1/guide", {"text": serve.GUIDE_TEXTS[i % len(serve.GUIDE_TEXTS)],
                                      "k": 10}))  # fmt: skip
        else:
            out.append(("/v1/recommendations", {"shopper_id": shoppers[i % len(shoppers)],
                                                "k": 10}))  # fmt: skip
    return out


def warm_up(port: int, requests: list[tuple[str, dict]]) -> None:
    """Each guide text and a few recommendations once per worker's worth: the first MiniLM and
    torch calls of a process are slow and are not what a soak measures."""
    guide = [r for r in requests if r[0] == "/v1/guide"][: 2 * len(serve.GUIDE_TEXTS)]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
        for route, body in guide + requests[:20]:
            client.post(route, json=body)


def reloads(
    port: int, every: float, start: float, until: float, stop: threading.Event
) -> list[dict]:
    """``POST /v1/admin/reload`` every ``every`` seconds from ``start`` until ``until``: when,
    its status and its seconds."""
    done: list[dict] = []
    headers = {"Authorization": "Bearer bench-admin"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0) as client:
        next_at = start + every
        while not stop.wait(max(0.0, next_at - time.perf_counter())):
            if time.perf_counter() >= until:
                break
            started = time.perf_counter()
            try:
                status = client.post("/v1/admin/reload", headers=headers).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            done.append({"at_s": round(started - start, 1), "status": status,
                         "seconds": round(time.perf_counter() - started, 2)})  # fmt: skip
            next_at += every
    return done


def server_processes(server: psutil.Process) -> list[psutil.Process]:
    """The server process and its workers (the supervisor of ``--workers N`` forks them)."""
    return [server, *server.children(recursive=True)]


def sample_memory(server: psutil.Process, every: float, stop: threading.Event) -> list[dict]:
    samples: list[dict] = []
    start = time.perf_counter()
    while not stop.wait(every):
        rss = {}
        for proc in server_processes(server):
            try:
                rss[proc.pid] = proc.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
        samples.append({"t": round(time.perf_counter() - start, 1), "rss_mb": rss})
    return samples


def memory_growth(samples: list[dict], window_s: float = 60.0) -> dict:
    """Per process: median RSS over the first and over the last ``window_s`` (a quarter of the
    run at most, so the two windows never overlap) and the growth."""
    if not samples:
        return {}
    end = samples[-1]["t"]
    window_s = min(window_s, (end - samples[0]["t"]) / 4)
    first = [s for s in samples if s["t"] <= samples[0]["t"] + window_s]
    last = [s for s in samples if s["t"] >= end - window_s]
    out = {}
    for pid in samples[0]["rss_mb"]:
        a = [s["rss_mb"][pid] for s in first if pid in s["rss_mb"]]
        b = [s["rss_mb"][pid] for s in last if pid in s["rss_mb"]]
        if a and b:
            start_mb, end_mb = statistics.median(a), statistics.median(b)
            out[str(pid)] = {"first_minute_mb": round(start_mb, 1),
                             "last_minute_mb": round(end_mb, 1),
                             "growth": round(end_mb / start_mb - 1, 4)}  # fmt: skip
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def route_row(ms: list[float], failed: list[str]) -> dict:
    return {"requests": len(ms), "failed": len(failed), "failures": sorted(set(failed)),
            "p50_ms": round(percentile(ms, 0.50), 2),
            "p99_ms": round(percentile(ms, 0.99), 2)}  # fmt: skip


def main() -> None:
    args = parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    store, run = serve.prepare(args, work)
    port = serve.free_port()
    server = serve.start_server(store, run, port, args.workers)
    requests = workload(store, int(args.rate * args.seconds), args.guide_share)
    warm_up(port, requests)
    record, stop = Recorder(), threading.Event()
    memory: list[dict] = []
    reloaded: list[dict] = []
    try:
        sampler = threading.Thread(
            target=lambda: memory.extend(sample_memory(psutil.Process(server.pid), SAMPLE_S,
                                                       stop)), daemon=True)  # fmt: skip
        sampler.start()
        start = time.perf_counter() + 0.5
        senders = send_schedule(port, requests, start, args.rate, args.senders, record)
        for t in senders:
            t.start()
        until = start + args.seconds
        reloader = threading.Thread(
            target=lambda: reloaded.extend(reloads(port, args.reload_every, start, until, stop)),
            daemon=True,
        )
        reloader.start()
        for t in senders:
            t.join()
        wall = time.perf_counter() - start
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    rows = {route: route_row(ms, record.failed.get(route, [])) for route, ms in
            record.latency.items()}  # fmt: skip
    growth = memory_growth(memory)
    report = {
        "benchmark": "soak",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "model": str(run / "model"),
        "rows": rows,
        "rate_target": args.rate,
        "rate_achieved": round(sum(r["requests"] for r in rows.values()) / wall, 2),
        "send_late_ms_p99": round(percentile(record.late, 0.99), 2),
        "reloads": reloaded,
        "failed_reloads": sum(r["status"] != 200 for r in reloaded),
        "memory": growth,
        "max_memory_growth": max((g["growth"] for g in growth.values()), default=None),
        "memory_samples": memory,
        "goal": "memory growth < 5 % per process, zero failed requests, zero failed reloads",
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
