"""Screenshots of the merchant overview and the shopper guide on a finished dataset demo.

    python docs/screenshots/take_screenshots.py --model DEMO/run --store DEMO/shop.duckdb

Serves the demo on a free local port, times the overview (first call: every toy forecast;
then cached), and writes merchant-overview.png, merchant-forecast.png and guide.png beside this
file with headless Chromium (/usr/bin/chromium). Prints the timings and counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
TOKEN = "screenshot"


def serve(model: Path, store: Path) -> str:
    import uvicorn

    from toyguide.service import Settings, create_app
    from toyguide.service.holder import load_guide

    guide = load_guide(model, store)
    app = create_app(Settings(model_dir=model, store=store, merchant_token=TOKEN), guide)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def timed(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    answer = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600)
    answer.raise_for_status()
    return round(time.perf_counter() - start, 3), answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--search", default="jigsaw")
    args = parser.parse_args()
    base = serve(args.model, args.store)
    with httpx.Client(base_url=base) as client:
        first, answer = timed(client, "/v1/merchant/overview")
        warm = [timed(client, "/v1/merchant/overview")[0] for _ in range(5)]
        csv_s, csv = timed(client, "/v1/merchant/reorder.csv")
        search_s, _ = timed(client, f"/v1/merchant/toys?q={args.search}")
    body = answer.json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 900})
        page.goto("/merchant")
        page.get_by_label("Merchant token").fill(TOKEN)
        page.get_by_role("button", name="Use token").click()
        page.get_by_test_id("overview-summary").wait_for()
        page.locator("#overview").screenshot(path=HERE / "merchant-overview.png")
        page.get_by_label("Search the catalogue").fill(args.search)
        page.get_by_role("button", name="Find", exact=True).click()
        page.get_by_role("list", name="Toys found").get_by_role("button").first.click()
        page.locator("#forecast-chart .scatterlayer .trace").nth(3).wait_for()
        page.wait_for_timeout(500)
        page.locator("#forecast-figure").screenshot(path=HERE / "merchant-forecast.png")
        page.goto("/")
        page.get_by_label("Who is it for").fill("a jigsaw puzzle for a 6 year old")
        page.get_by_role("button", name="Find toys").click()
        page.get_by_role("list", name="Suggested toys").locator("li").first.wait_for()
        page.screenshot(path=HERE / "guide.png")
        browser.close()
    print(json.dumps({
        "overview_first_s": first, "overview_warm_s": warm, "reorder_csv_s": csv_s,
        "search_s": search_s, "toys": body["toys"], "stock_known": body["stock_known"],
        "at_risk": body["at_risk_count"], "slow_movers": body["slow_mover_count"],
        "reorder_lines": len(csv.text.splitlines()) - 1, "notes": body["notes"],
        "top_seller": body["top_sellers"][0], "segments_source": body["segments_source"],
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
