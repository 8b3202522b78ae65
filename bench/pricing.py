"""New-toy pricing on a finished demo (issue 13): does the sales model's curve respond to price,
how its level compares with what launched toys sold, and how long an evaluation takes.

Reads a demo folder (``toyguide demo ... --out DIR --no-serve``), prints one JSON document:
- per probe toy: the suggested range, the verdict, and the model's expected units at the similar
  toys' weighted P25 and P75 price (one batched pass);
- a launch check over every toy that first sold inside the data with H weeks after: the model's
  no-history forecast (id dropped, as for a new toy) against the units it sold, and the slope of
  log units on log price in the data and in the model;
- the latency of ``POST /v1/items/evaluate`` through the app (median of --repeats).
With --screenshot, also serves the app and saves the pricing block of the merchant page's
evaluate section, after evaluating the first probe.

    python bench/pricing.py --demo demo-uci --out bench/results/pricing_uci.json \\
        --screenshot docs/figures/merchant_pricing_uci.png
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

import common  # bench/common.py: python puts the script's folder first on sys.path

PROBES = [  # (title, description, price in the shop's currency): toys in the UCI shop's style
    ("WOODEN TOY TRAIN SET", "a wooden train with tracks", 4.95),
    ("DINOSAUR KEYRING", "", 0.85),
    ("RED RETROSPOT JIGSAW PUZZLE", "wooden jigsaw", 2.95),
    ("KNITTED RABBIT DOLL", "", 3.75),
    ("SET OF 6 SOLDIER SKITTLES", "", 3.75),
    ("SPACEBOY CHILDRENS BOWL", "", 1.25),
]
TOKEN = "bench"


def probe(guide, title: str, description: str, price: float) -> dict:
    from toyguide.guide.new_toy import NewToy, forecast_new_toy
    from toyguide.guide.pricing import weighted_quantiles

    pricing = guide.evaluate_toy(title, description, None, price).pricing
    prices = np.array([s.price for s in pricing.similar])
    p25, p75 = weighted_quantiles(prices, np.array([s.similarity for s in pricing.similar]),
                                  (0.25, 0.75))  # fmt: skip
    text = f"{title}. {description}" if description else title
    toy = NewToy(guide.embedder.embed([text]), None, f"{title} {description}".strip())
    with torch.no_grad():
        out = forecast_new_toy(guide.loaded, toy, [p25, p75])
    units = out["mean"].sum(1).numpy()
    return {
        "title": title, "currency": pricing.currency, "verdict": pricing.price_response,
        "suggested": [pricing.suggested_low, pricing.suggested_median, pricing.suggested_high],
        "p25_price": round(float(p25), 2), "p75_price": round(float(p75), 2),
        "units_at_p25": round(float(units[0]), 3), "units_at_p75": round(float(units[1]), 3),
        "change_p25_to_p75": round(float(units[1] / units[0] - 1), 4),
        "curve_mean_min_max": [min(p.mean for p in pricing.curve),
                               max(p.mean for p in pricing.curve)],
    }  # fmt: skip


@torch.no_grad()
def launch_check(guide) -> dict:
    """Toys launched inside the data: the no-history forecast at their launch week against
    their first H weeks' units."""
    from scipy.stats import spearmanr

    from toyguide.guide.pricing import observed_demand

    sales, h = guide.data.of("sales"), guide.loaded.config.features.horizon
    rows = np.arange(1, sales.units.shape[0])
    _, first = observed_demand(sales.units[rows], sales.first_week[rows], h)
    rows, sold = rows[~np.isnan(first)], first[~np.isnan(first)]
    enc, r = guide.model.item_encoder, torch.as_tensor(rows)
    items = enc.encode_features(
        enc.brand[r], enc.categories[r], enc.log_price[r], enc.price_missing[r], enc.text[r],
        ids=None, tokens=None if enc.tokens is None else enc.tokens[r],
    )  # fmt: skip
    # each toy as new at its launch week: item row 0 (no history), the launch weeks' calendar
    launch = sales.first_week[rows]
    blank = guide.loaded.streams["sales"].batch_at(np.zeros(len(rows), np.int64), launch, 0)
    model = guide.model.sales_forecast(items, blank)
    expected = model["mean"].sum(1).numpy().astype(np.float64)
    price = np.array([guide.catalogue.views[i].price or np.nan for i in rows])
    ok = np.isfinite(price) & (price > 0)
    log_price = np.log(price[ok])
    return {
        "horizon_weeks": h, "launched_toys": len(rows),
        "sold_median": float(np.median(sold)), "sold_mean": float(sold.mean()),
        "model_median": float(np.median(expected)), "model_mean": float(expected.mean()),
        "model_total_over_sold_total": float(expected.sum() / sold.sum()),
        "spearman_model_vs_sold": float(spearmanr(expected, sold)[0]),
        "spearman_price_vs_sold": float(spearmanr(price[ok], sold[ok])[0]),
        "spearman_price_vs_model": float(spearmanr(price[ok], expected[ok])[0]),
        "slope_log_units_on_log_price_data": float(np.polyfit(log_price, np.log1p(sold[ok]), 1)[0]),
        "slope_log_units_on_log_price_model": float(
            np.polyfit(log_price, np.log1p(expected[ok]), 1)[0]
        ),
    }  # fmt: skip


def latency(guide, demo: Path, repeats: int) -> dict:
    from fastapi.testclient import TestClient

    from toyguide.service import Settings, create_app

    settings = Settings(model_dir=demo / "run", store=demo / "shop.duckdb", merchant_token=TOKEN,
                        admin_token="bench-admin")  # fmt: skip
    client = TestClient(create_app(settings, guide))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"title": PROBES[0][0], "description": PROBES[0][1], "price": PROBES[0][2]}
    assert client.post("/v1/items/evaluate", json=body, headers=headers).status_code == 200
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.post("/v1/items/evaluate", json=body, headers=headers)
        seconds.append(time.perf_counter() - start)
    return {"repeats": repeats, "median_s": statistics.median(seconds), "max_s": max(seconds)}


def screenshot(guide, demo: Path, path: Path) -> None:
    """The merchant page's evaluate section after evaluating the first probe, in Chromium."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from toyguide.service import Settings, create_app

    settings = Settings(model_dir=demo / "run", store=demo / "shop.duckdb", merchant_token=TOKEN,
                        admin_token="bench-admin")  # fmt: skip
    app = create_app(settings, guide)
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    title, description, price = PROBES[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/merchant")
        page.get_by_label("Merchant token").fill(TOKEN)
        page.get_by_role("button", name="Use token").click()
        page.get_by_label("Title").fill(title)
        page.get_by_label("Description").fill(description)
        page.get_by_label("Price").fill(str(price))
        page.get_by_role("button", name="Evaluate").click()
        page.locator(".pricing").wait_for()
        page.wait_for_timeout(1500)  # plotly's first draw
        path.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".pricing").screenshot(path=str(path))  # the section's pricing block
        browser.close()
    server.should_exit = True
    thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, required=True, help="a finished demo folder")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from toyguide.guide.engine import Guide
    from toyguide.guide.new_toy import price_is_input
    from toyguide.runs import store_fingerprint

    start = time.perf_counter()
    guide = Guide.load(args.demo / "run", args.demo / "shop.duckdb", semantic=False)
    report = {
        "demo": str(args.demo), "data": store_fingerprint(guide.store),
        "price_is_input": price_is_input(guide.loaded),
        "probes": [probe(guide, *toy) for toy in PROBES],
        "launch_check": launch_check(guide),
        "evaluate_latency": latency(guide, args.demo, args.repeats),
    }  # fmt: skip
    if args.screenshot:
        screenshot(guide, args.demo, args.screenshot)
    report |= {"wall_s": time.perf_counter() - start, "peak_rss_mb": common.peak_rss_mb(),
               "versions": common.versions("torch", "numpy")}  # fmt: skip
    common.emit(report, args.out)


if __name__ == "__main__":
    main()
