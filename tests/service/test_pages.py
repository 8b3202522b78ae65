"""The web pages end to end: the real app under uvicorn, driven by headless Chromium (Playwright).

Uses the ``guide`` fixture of ``tests/service/conftest.py`` (a small model trained on the
synthetic shop). Every page is checked for console errors and for requests leaving localhost.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MERCHANT_TOKEN = "m"
GIFT = "a gift for my 5-year-old granddaughter who loves dinosaurs, under $30"
CHINESE = "给三岁的男孩买遥控车，200元以内"

expect.set_options(timeout=15_000)  # a model call on a busy CI machine can take seconds
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (CI installs Debian's chromium)"
)


# -- the app under uvicorn, on a free port ---------------------------------------------------------
@contextmanager
def serving(guide) -> Iterator[str]:
    """The app around ``guide`` under uvicorn on a free port; yields its base URL."""
    import uvicorn

    from toyguide.service.app import create_app
    from toyguide.service.settings import Settings

    settings = Settings(
        model_dir=guide.loaded.folder,
        store=guide.store.path,
        admin_token="a",
        merchant_token=MERCHANT_TOKEN,
    )
    app = create_app(settings, guide=guide)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port, and we keep it: no race
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def server(guide) -> Iterator[str]:
    with serving(guide) as url:
        yield url


# -- the browser -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class Record:
    """What a page did: console errors and uncaught exceptions, and every URL it requested."""

    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).hostname not in ("127.0.0.1", "localhost")]


@pytest.fixture
def record() -> Record:
    return Record()


def new_page(browser, base_url: str, record: Record):
    """A fresh browser context on ``base_url`` that records errors and requests and lets
    nothing leave this machine."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})

    def local_only(route) -> None:  # nothing may leave this machine; the record says if it tried
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record.errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: record.urls.append(r.url))
    return context, page


@pytest.fixture
def page(browser, server, record):
    context, page = new_page(browser, server, record)
    yield page
    context.close()


def assert_clean(record: Record) -> None:
    assert record.errors == [], record.errors
    assert record.foreign() == [], record.foreign()
    assert record.urls, "the page made no requests at all"


def chip(page, slot: str, value: str | None = None):
    needs = page.get_by_role("list", name="Your needs")
    if value is None:
        return needs.locator(f'li[data-slot="{slot}"]')
    return needs.locator(f'li[data-slot="{slot}"][data-value="{value}"]')


def cards(page):
    return page.get_by_role("list", name="Suggested toys").locator(":scope > li")


def ask(page, text: str) -> dict:
    """Type ``text`` into the request box and submit; return the /v1/guide answer."""
    page.goto("/")
    page.get_by_label("Who is it for").fill(text)
    with page.expect_response("**/v1/guide") as answer:
        page.get_by_role("button", name="Find toys").click()
    assert answer.value.status == 200, answer.value.text()
    expect(cards(page).first).to_be_visible()
    return answer.value.json()


# -- the shopper's guide ---------------------------------------------------------------------------
def test_guide_page_loads_without_errors_or_foreign_requests(page, record, tmp_path):
    page.goto("/")
    expect(page.get_by_role("heading", name="Find the right toy")).to_be_visible()
    expect(page.get_by_label("Who is it for")).to_be_editable()
    assert page.get_by_role("alert").count() == 1
    page.screenshot(path=tmp_path / "guide-empty.png", full_page=True)
    assert_clean(record)


def test_a_request_shows_its_needs_as_chips_and_cards_with_reasons(page, record, tmp_path):
    answer = ask(page, GIFT)
    assert answer["dialogue_id"]
    expect(chip(page, "age")).to_contain_text("age 5")
    expect(chip(page, "gender", "girl")).to_be_visible()
    expect(chip(page, "budget")).to_contain_text("≤ 30 USD")
    expect(chip(page, "interests", "animals_nature")).to_be_visible()
    assert cards(page).count() >= 1
    first = cards(page).first
    expect(first.get_by_role("heading", level=3)).not_to_be_empty()
    expect(first.get_by_role("list", name="Reasons").locator("li").first).not_to_be_empty()
    shown = [cards(page).nth(i).get_attribute("data-item-id") for i in range(cards(page).count())]
    assert shown == [p["item"]["item_id"] for p in answer["picks"]]
    page.screenshot(path=tmp_path / "guide-results.png", full_page=True)
    assert_clean(record)


def budget_max(page) -> float:
    return json.loads(chip(page, "budget").get_attribute("data-value"))["max"]


def test_cheaper_keeps_the_dialogue_and_lowers_the_budget(page, record):
    first = ask(page, GIFT)
    assert budget_max(page) == 30
    with page.expect_request("**/v1/guide") as sent:
        page.get_by_role("button", name="Cheaper").click()
    body = sent.value.post_data_json
    assert body["dialogue_id"] == first["dialogue_id"]
    assert body["text"] == "cheaper"
    response = sent.value.response()
    assert response is not None and response.json()["dialogue_id"] == first["dialogue_id"]
    expect(page.get_by_role("button", name="Cheaper")).to_be_enabled()
    assert budget_max(page) < 30
    expect(chip(page, "gender", "girl")).to_be_visible()  # the other needs are kept
    expect(page.locator("#turns li")).to_have_count(2)

    with page.expect_request("**/v1/guide") as sent:
        page.get_by_role("button", name="Older").click()
    assert sent.value.post_data_json["dialogue_id"] == first["dialogue_id"]
    expect(chip(page, "age")).to_contain_text("age 6")
    assert budget_max(page) < 30  # still the cheaper budget: one dialogue throughout
    assert_clean(record)


def test_removing_a_chip_reasks_with_the_edited_request(page, record):
    ask(page, GIFT)
    with page.expect_request("**/v1/recommendations") as sent:
        page.get_by_role("button", name="Remove Likes animals & nature").click()
    request = sent.value.post_data_json["request"]
    assert request["interests"] == []
    assert request["gender"] == "girl" and request["budget"]["max"] == 30
    answer = sent.value.response().json()
    expect(chip(page, "interests")).to_have_count(0)
    expect(chip(page, "gender", "girl")).to_be_visible()
    ids = [p["item"]["item_id"] for p in answer["picks"]]
    expect(cards(page)).to_have_count(len(ids))
    assert [cards(page).nth(i).get_attribute("data-item-id") for i in range(len(ids))] == ids
    assert_clean(record)


def test_editing_chips_reasks_with_the_edited_request(page, record):
    ask(page, GIFT)
    chip(page, "age").get_by_role("button", name="Change age 5").click()
    page.get_by_label("Age in years").fill("7")
    with page.expect_request("**/v1/recommendations") as sent:
        page.get_by_role("button", name="Apply").click()
    assert sent.value.post_data_json["request"]["age_months"] == {"min": 84, "max": 95}
    expect(chip(page, "age")).to_contain_text("age 7")

    chip(page, "budget").get_by_role("button", name="Change Budget ≤ 30 USD").click()
    page.get_by_label("Budget up to").fill("20")
    with page.expect_request("**/v1/recommendations") as sent:
        page.get_by_role("button", name="Apply").click()
    edited = sent.value.post_data_json["request"]
    assert edited["budget"] == {"min": None, "max": 20, "currency": "USD"}
    assert edited["age_months"] == {"min": 84, "max": 95}  # the earlier edit is kept
    expect(chip(page, "budget")).to_contain_text("≤ 20 USD")

    with page.expect_request("**/v1/recommendations") as sent:
        page.get_by_role("button", name="For a girl: switch to boy").click()
    assert sent.value.post_data_json["request"]["gender"] == "boy"
    expect(chip(page, "gender", "boy")).to_be_visible()
    assert_clean(record)


def test_a_chinese_request_shows_chips(page, record):
    ask(page, CHINESE)
    expect(chip(page, "age")).to_contain_text("age 3")
    expect(chip(page, "gender", "boy")).to_be_visible()
    expect(chip(page, "budget")).to_contain_text("≤ 200 CNY")
    expect(chip(page, "interests", "vehicles")).to_be_visible()
    assert_clean(record)


def test_a_ruled_out_feature_shows_as_a_chip(page, record):
    ask(page, "a toy for a 4 year old, no batteries")
    expect(chip(page, "avoid", "batteries")).to_contain_text("batteries")
    assert_clean(record)


def test_an_empty_request_shows_an_alert_and_sends_nothing(page, record):
    page.goto("/")
    page.get_by_role("button", name="Find toys").click()
    expect(page.get_by_role("alert")).to_contain_text("who the toy is for")
    assert not [u for u in record.urls if "/v1/" in u]


# -- the merchant dashboard ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def item_id(guide) -> str:
    """One with a known stock on hand, so the inventory plan needs no stock typed in."""
    sql = "SELECT item_id FROM sales WHERE stock_on_hand IS NOT NULL ORDER BY week DESC, 1 LIMIT 1"
    return guide.store.query(sql).item()


@pytest.fixture(scope="module")
def shopper_id(guide) -> str:
    return guide.store.query("SELECT shopper_id FROM events GROUP BY 1 ORDER BY 1 LIMIT 1").item()


def use_token(page, token: str) -> None:
    page.get_by_label("Merchant token").fill(token)
    page.get_by_role("button", name="Use token").click()
    assert page.evaluate("sessionStorage.getItem('toyguide.merchantToken')") == token


def test_merchant_dashboard_with_a_token(page, record, item_id, shopper_id, tmp_path):
    page.goto("/merchant")
    use_token(page, MERCHANT_TOKEN)
    page.get_by_label("Item id").fill(item_id)
    with page.expect_request("**/v1/forecast/*") as sent:
        page.get_by_role("button", name="Show forecast").click()
    assert sent.value.headers["authorization"] == f"Bearer {MERCHANT_TOKEN}"
    chart = page.locator("#forecast-chart")
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart.locator(".scatterlayer .trace")).to_have_count(4)  # history, P10, P90 band, P50

    page.get_by_role("button", name="Plan inventory").click()
    reorder = page.get_by_role("table", name="Inventory plan").get_by_role("row", name="Reorder")
    expect(reorder.get_by_role("cell")).to_have_text(re.compile(r"\d"))

    page.get_by_label("Title").fill("Dinosaur fossil dig kit")
    page.get_by_label("Description").fill("Excavate three dinosaur skeletons with real tools.")
    page.get_by_label("Brand").fill("Wild Safari Kids")
    page.get_by_label("Price").fill("24.99")
    page.get_by_role("button", name="Evaluate").click()
    bands = page.get_by_role("table", name="Predicted age band").locator("tbody tr")
    expect(bands).to_have_count(6)
    shown = [float(t.rstrip("%")) for t in bands.locator("td span").all_inner_texts()]
    assert abs(sum(shown) - 100) < 1
    expect(page.get_by_role("list", name="Similar toys").locator("li").first).to_be_visible()

    page.get_by_label("Shopper id").fill(shopper_id)
    page.get_by_role("button", name="Show profile").click()
    expect(page.get_by_test_id("segment")).to_contain_text("·")
    page.get_by_role("button", name="Show the shop's segments").click()
    segments = page.get_by_role("table", name="Shoppers by predicted").locator("tbody tr")
    expect(segments.first).to_contain_text("·")
    assert set(page.get_by_role("alert").all_inner_texts()) == {""}
    page.screenshot(path=tmp_path / "merchant.png", full_page=True)
    assert_clean(record)


def test_merchant_dashboard_without_a_token_shows_an_error(page, record, item_id):
    page.goto("/merchant")
    page.get_by_label("Item id").fill(item_id)
    page.get_by_role("button", name="Show forecast").click()
    alert = page.locator("#forecast-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("token")
    assert not [u for u in record.urls if "/v1/" in u]  # nothing sent without a token

    use_token(page, "not-the-token")  # a wrong token: the server's 401 is shown
    with page.expect_response("**/v1/forecast/*") as answer:
        page.get_by_role("button", name="Show forecast").click()
    assert answer.value.status == 401
    expect(alert).to_contain_text("Not authorised")
    expect(page.locator("#forecast-figure")).to_be_hidden()


# -- static files ----------------------------------------------------------------------------------
def test_static_files_types_caching_and_no_traversal(server):
    from toyguide.service.pages import plotly_js_path

    with httpx.Client(base_url=server) as client:
        css = client.get("/static/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        js = client.get("/static/guide.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert js.headers["cache-control"] == "no-cache"
        again = client.get("/static/guide.js", headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304 and not again.content
        plotly = client.get("/static/plotly.min.js")
        assert plotly.status_code == 200
        assert len(plotly.content) == plotly_js_path().stat().st_size
        assert "max-age" in plotly.headers["cache-control"]
        for bad in ("..%2Fpages.py", "../pages.py", "%2e%2e/pages.py", "x.py", ".hidden.js",
                    "..%2Ftemplates%2Fbase.html", "nope.js", "%2Fetc%2Fpasswd", "a%00.js"):  # fmt: skip
            assert client.get(f"/static/{bad}").status_code == 404, bad
        page = client.get("/")
        assert "default-src 'self'" in page.headers["content-security-policy"]


# -- the merchant's morning on real data (UCI Online Retail's best-selling toys) -----------------
@pytest.fixture(scope="module")
def uci_server(uci_guide) -> Iterator[str]:
    with serving(uci_guide) as url:
        yield url


@pytest.fixture
def uci_page(browser, uci_server, record):
    context, page = new_page(browser, uci_server, record)
    yield page
    context.close()


def open_overview(page) -> dict:
    """The dashboard with the token given; returns the overview it loaded."""
    page.goto("/merchant")
    with page.expect_response("**/v1/merchant/overview?*") as answer:
        use_token(page, MERCHANT_TOKEN)
    assert answer.value.status == 200, answer.value.text()
    expect(page.get_by_test_id("overview-summary")).to_be_visible()
    return answer.value.json()


def forecast_of(item_id: str):
    """Matches the forecast request of ``item_id`` (its ':' is sent as %3A)."""
    return lambda response: response.url.endswith(f"/v1/forecast/{quote(item_id, safe='')}")


def column(table, index: int) -> list[str]:
    return table.locator(f"tbody tr td:nth-child({index})").all_inner_texts()


def numbers(texts: list[str]) -> list[float]:
    return [float(t.replace(",", "")) for t in texts]


@pytest.mark.shared_data
def test_overview_on_real_history_sorts_and_opens_a_forecast(uci_page, record, tmp_path):
    page = uci_page
    overview = open_overview(page)
    at_risk = page.locator('table[data-table="at-risk"]')
    shown = min(overview["at_risk_count"], 20)
    assert shown > 0
    expect(at_risk.locator("tbody tr")).to_have_count(shown)
    assert column(at_risk, 2) == [r["item_id"] for r in overview["at_risk"]]

    stock = at_risk.get_by_role("columnheader", name="Stock")
    stock.get_by_role("button").click()  # numbers sort largest first, then flip
    expect(stock).to_have_attribute("aria-sort", "descending")
    values = numbers(column(at_risk, 3))
    assert values == sorted(values, reverse=True)
    stock.get_by_role("button").click()
    expect(stock).to_have_attribute("aria-sort", "ascending")
    assert numbers(column(at_risk, 3)) == sorted(values)
    toy = at_risk.get_by_role("columnheader", name="Toy")
    expect(toy).to_have_attribute("aria-sort", "none")

    top = page.locator('table[data-table="top-sellers"]')
    best = overview["top_sellers"][0]
    with page.expect_response(forecast_of(best["item_id"])) as answer:
        top.get_by_role("link", name=best["title"]).first.click()
    forecast = answer.value.json()
    assert sum(forecast["history_units"]) > 0  # the toy's real sales history is drawn
    chart = page.locator("#forecast-chart")
    expect(chart.locator(".scatterlayer .trace")).to_have_count(4)  # history, P10, P90 band, P50
    expect(page.locator("#forecast-caption")).to_contain_text(best["item_id"])
    segments = page.locator('table[data-table="segments"]')
    expect(segments.locator("tbody tr").first).to_contain_text("United Kingdom")
    page.screenshot(path=tmp_path / "merchant-overview.png", full_page=True)
    assert_clean(record)


@pytest.mark.shared_data
def test_search_by_title_opens_the_toys_forecast(uci_page, record, uci_guide):
    page = uci_page
    open_overview(page)
    page.get_by_label("Search the catalogue").fill("spaceboy")
    with page.expect_response("**/v1/merchant/toys?*") as answer:
        page.get_by_role("button", name="Find", exact=True).click()
    toys = answer.value.json()["toys"]
    assert toys and all("SPACEBOY" in t["title"] for t in toys)
    found = page.get_by_role("list", name="Toys found").get_by_role("button")
    expect(found).to_have_count(len(toys))
    with page.expect_response(forecast_of(toys[0]["item_id"])):
        found.first.click()
    expect(page.locator("#forecast-chart .scatterlayer .trace")).to_have_count(4)
    expect(page.get_by_label("Item id")).to_have_value(toys[0]["item_id"])
    assert_clean(record)


@pytest.mark.shared_data
def test_the_reorder_list_downloads_as_csv(uci_page, record):
    page = uci_page
    overview = open_overview(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export reorder list (CSV)").click()
    assert re.fullmatch(r"reorder-\d{4}-\d\d-\d\d-lead2w-sl0\.95\.csv",
                        download.value.suggested_filename)  # fmt: skip
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == overview["at_risk_count"]
    assert [r["item_id"] for r in rows[:20]] == [r["item_id"] for r in overview["at_risk"]]
    assert all(int(r["suggested_order_qty"]) >= 1 for r in rows)
    assert_clean(record)
