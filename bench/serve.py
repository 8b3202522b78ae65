"""Latency and throughput of the HTTP service under load (issue 5).

Builds (or reuses, with --workdir) a synthetic shop with 12,000 toys, trains a model on it,
starts ``toyguide serve --workers N`` (default one uvicorn process), and drives
``POST /v1/recommendations`` and ``POST /v1/guide`` with Debian's ``wrk`` at each concurrency
for --seconds, printing one JSON document: p50/p90/p99 latency, requests per second and failed
requests per run (rows keyed ``"<route>@<concurrency>"``), and with several workers how wrk's
connections were spread over them (sampled mid-run with ``ss``).

    python bench/serve.py --out bench/results/serve.json          # needs: apt-get install wrk
    python bench/serve.py --workers 2 --workdir W --out OUT        # reuse W's shop and model
    python bench/serve.py --quick                                  # small shop, 5 s runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import common  # bench/common.py: python puts the script's folder first on sys.path

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {BODIES}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "{PATH}", nil, bodies[(i % #bodies) + 1])
end
"""
GUIDE_TEXTS = [
    "a gift for my 5-year-old granddaughter who loves dinosaurs, under $30",
    "给三岁的男孩买遥控车，200元以内",
    "lego for an 8 year old boy",
    "something musical for a toddler, no plush",
    "board game for a family with a 10 year old, under $40",
    "给六岁女孩的生日礼物，喜欢画画",
]

# Parts of the varied requests of --guide-requests: what a shopper asks, in English and Chinese.
_EN = {
    "ask": ["a gift", "a birthday present", "something fun", "a toy", "a Christmas present"],
    "child": ["son", "daughter", "grandson", "granddaughter", "nephew", "niece", "kid"],
    "likes": ["dinosaurs", "trains", "drawing", "building blocks", "music", "puzzles",
              "science", "dolls", "remote control cars", "space", "animals", "board games"],
    "budget": ["", ", under $20", ", under $50", ", around £30", " for less than 40 euros"],
    "not": ["", ", no plush", ", nothing with batteries", ", not too noisy"],
}  # fmt: skip
_ZH = {
    "child": ["男孩", "女孩", "孙子", "女儿", "孩子"],
    "likes": ["恐龙", "积木", "遥控车", "画画", "拼图", "音乐", "科学实验", "娃娃"],
    "budget": ["", "，100元以内", "，200元以内", "，300块左右"],
}


def guide_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct guide requests drawn from templates (ages 1-12, interests, budgets,
    exclusions; one in four in Chinese), so that no per-text cache can serve the load."""
    import random

    rng, texts = random.Random(seed), {}  # insertion-ordered: the same list for a seed
    while len(texts) < n:
        age = rng.randint(1, 12)
        if rng.random() < 0.25:
            z = {k: rng.choice(v) for k, v in _ZH.items()}
            text = f"给{age}岁的{z['child']}买礼物，喜欢{z['likes']}{z['budget']}"
        else:
            e = {k: rng.choice(v) for k, v in _EN.items()}
            text = f"{e['ask']} for my {age}-year-old {e['child']} who loves {e['likes']}"
            text += e["budget"] + e["not"]
        texts[text] = None
    return list(texts)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shoppers", type=int, default=20_000)
    p.add_argument("--items", type=int, default=12_000)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--concurrency", default="1,32")
    p.add_argument("--workers", type=int, default=1, help="toyguide serve --workers")
    p.add_argument(
        "--shopper-cache",
        type=int,
        default=None,
        help="toyguide serve --shopper-cache (default: serve's; 0 = no cache)",
    )
    p.add_argument(
        "--request-shoppers",
        type=int,
        default=200,
        help="distinct known shoppers the recommendation requests cycle through",
    )
    p.add_argument(
        "--guide-requests",
        type=int,
        default=0,
        help="distinct generated guide requests to cycle through (0: the six GUIDE_TEXTS)",
    )
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.shoppers, args.items, args.weeks, args.seconds = 1_000, 600, 20, 5
    return args


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    store, run = work / "shop.duckdb", work / "run"
    if not store.exists():
        common.toyguide("data", "synth", "--store", str(store), "--shoppers", str(args.shoppers),
                 "--items", str(args.items), "--weeks", str(args.weeks), "--seed", "0")  # fmt: skip
    if not (run / "model" / "checksums.json").exists():
        config = work / "serve.toml"
        config.write_text(
            'threads = 2\n[features]\ntasks = ["preference", "attributes", "sales", "profile"]\n'
            '[model]\nd_model = 64\n[weighting]\nname = "uncertainty"\n'
            "[train]\nepochs = 1\nsteps_per_epoch = 60\n[analysis]\nevery_steps = 0\n"
        )
        common.toyguide("train", "--config", str(config), "--store", str(store), "--out", str(run))
    return store, run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    store: Path, run: Path, port: int, workers: int, shopper_cache: int | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "TOYGUIDE_ADMIN_TOKEN": "bench-admin",
        "TOYGUIDE_MERCHANT_TOKEN": "bench-m",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "toyguide", "serve", "--model", str(run), "--store", str(store),
         "--port", str(port), "--workers", str(workers),
         *(["--shopper-cache", str(shopper_cache)] if shopper_cache is not None else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    deadline, pids = time.time() + 300, set()
    ready = urllib.request.Request(f"http://127.0.0.1:{port}/ready",
                                   headers={"Authorization": "Bearer bench-admin"})  # fmt: skip
    while time.time() < deadline:  # every worker answering (a new connection each time)
        if server.poll() is not None:
            raise SystemExit(f"toyguide serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(ready, timeout=2) as r:
                pids.add(json.load(r)["worker"]["pid"])
        except OSError:
            time.sleep(1)
        if len(pids) == workers:
            return server
    server.kill()
    raise SystemExit(f"{workers - len(pids)} worker(s) did not become ready within 300 s")


def connections_by_process(port: int) -> list[int]:
    """How many established connections to ``port`` each server process holds, most first
    (whichever worker accepts a connection keeps it: wrk's keep-alive connections stay put)."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    pids = re.findall(r"pid=(\d+)", out)
    return sorted((pids.count(p) for p in set(pids)), reverse=True)


def shopper_ids(store: Path, n: int = 200) -> list[str]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    rows = con.execute(
        "SELECT shopper_id FROM events GROUP BY 1 ORDER BY hash(shopper_id) LIMIT ?", [n]
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


def lua_script(path: str, bodies: list[dict]) -> str:
    # Lua long brackets take the UTF-8 JSON as it is (Lua has no \u escapes).
    quoted = ", ".join(f"[==[{json.dumps(b, ensure_ascii=False)}]==]" for b in bodies)
    return LUA.replace("{BODIES}", "{" + quoted + "}").replace("{PATH}", path)


def run_wrk(port: int, path: str, bodies: list[dict], concurrency: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua_script(path, bodies))
    threads = min(2, concurrency)
    wrk = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", f.name,
         f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(seconds / 2)
    spread = connections_by_process(port)
    stdout, stderr = wrk.communicate()
    if wrk.returncode or stderr.strip():  # a script error makes wrk fall back to GET /
        raise SystemExit(f"wrk failed on {path}: {stderr.strip()}")
    return {**parse_wrk(stdout), "connections_by_process": spread}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def parse_wrk(text: str) -> dict:
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return {
        "requests": total,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": _ms(pct["50"]), "p90_ms": _ms(pct["90"]), "p99_ms": _ms(pct["99"]),
        "failed": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(int(g) for g in errors.groups()) if errors else 0),
    }  # fmt: skip


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/serve.py needs wrk: apt-get install wrk")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="toyguide-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    store, run = prepare(args, work)
    shoppers = shopper_ids(store, args.request_shoppers)
    port = free_port()
    server = start_server(store, run, port, args.workers, args.shopper_cache)
    texts = guide_texts(args.guide_requests) if args.guide_requests else GUIDE_TEXTS
    workloads = {
        "/v1/recommendations": [{"shopper_id": s, "k": 10} for s in shoppers],
        "/v1/guide": [{"text": t, "k": 10} for t in texts],
    }
    results = {}
    try:
        for path, bodies in workloads.items():
            run_wrk(port, path, bodies, 4, 3)  # warm-up: first MiniLM and torch calls
            for c in (int(x) for x in args.concurrency.split(",")):
                results[f"{path}@{c}"] = run_wrk(port, path, bodies, c, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "benchmark": "serve",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "model": str(run / "model"),
        "rows": results,  # the key: rows["<route>@<concurrency>"]
        "goal": "p99 < 50 ms (recommendations) and < 150 ms (guide) at concurrency 32, "
        "zero failed requests",
        "versions": {"python": platform.python_version(), "machine": platform.machine()},
    }
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
