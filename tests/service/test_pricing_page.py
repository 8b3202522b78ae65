"""The evaluator's pricing block in Chromium, on a small real-data shop (UCI Online Retail's toys,
``uci_pricing_served`` in conftest.py): the suggested range, the chart of the similar toys' prices and
demand, the model's curve with its band, and the method text."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect, sync_playwright

from toyguide.service import create_app
from toyguide.service.holder import load_guide

from .conftest import MERCHANT, running, settings_for
from .test_pages import CHROMIUM, CHROMIUM_ARGS, Record, assert_clean, use_token

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
]
TRAIN = ("Wooden toy train set", "A wooden train with tracks and three wagons.", "4.95")
DRAWN = ("falls", "rises")


@pytest.fixture(scope="module")
def uci_server(uci_pricing_served):
    guide = load_guide(uci_pricing_served.model, uci_pricing_served.store)
    try:
        with running(create_app(settings_for(uci_pricing_served), guide)) as url:
            yield url
    finally:
        guide.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def record() -> Record:
    return Record()


@pytest.fixture
def page(browser, uci_server, record):
    context = browser.new_context(base_url=uci_server, viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record.errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: record.urls.append(r.url))
    yield page
    context.close()


def evaluate(page) -> dict:
    """Fill the evaluator with a wooden train and submit; return the /v1/items/evaluate answer."""
    page.goto("/merchant")
    use_token(page, MERCHANT)
    title, description, price = TRAIN
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Price").fill(price)
    with page.expect_response("**/v1/items/evaluate") as answer:
        page.get_by_role("button", name="Evaluate").click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.locator("#pricing-chart .main-svg").first).to_be_visible()
    return answer.value.json()["pricing"]


def plotted(page) -> dict[str, int]:
    """Each drawn trace's name and number of points, from plotly's own record of the chart."""
    pairs = page.evaluate(
        "[...document.getElementById('pricing-chart').data].map(t => [t.name, t.x.length])"
    )
    return dict(pairs)


def test_the_evaluator_shows_the_range_similar_toys_and_an_honest_curve(page, record, tmp_path):
    pricing = evaluate(page)
    assert pricing["currency"] == "GBP" and pricing["similar"]
    expect(page.get_by_test_id("price-range")).to_contain_text("£")
    expect(page.get_by_test_id("price-range")).to_contain_text("middle half")
    traces = plotted(page)
    similar = {k: v for k, v in traces.items() if k.startswith("Similar toys")}
    with_demand = [s for s in pricing["similar"]
                   if s["first_weeks_units"] is not None or s["mean_weekly_units"] is not None]  # fmt: skip
    assert sum(similar.values()) == len(with_demand) > 0  # one point per similar toy with sales
    model = [k for k in traces if k.startswith("Model")]
    if pricing["price_response"] in DRAWN:
        assert traces[model[0]] == len(pricing["curve"]) >= 2
    else:  # the model ignores price here: no line that would suggest it does not
        assert model == [] and len(pricing["curve"]) >= 2
        expect(page.locator("#pricing-verdict")).to_contain_text("no curve is drawn")
    expect(page.locator("#pricing-chart .scatterlayer .trace")).to_have_count(len(traces))
    rows = page.get_by_role("table", name="Similar toys' prices and demand").locator("tbody tr")
    expect(rows).to_have_count(len(pricing["similar"]))
    expect(page.locator(".pricing .method").first).to_contain_text("25th to 75th percentile")
    page.screenshot(path=tmp_path / "pricing.png", full_page=True)
    assert_clean(record)


def test_a_curve_that_moves_with_price_is_drawn_with_its_band(page, record) -> None:
    """The drawing itself: the real answer, its verdict set to "falls" on the way to the page
    (the small model of the fixture barely moves with price), gets a band and a line with
    one point per candidate price."""

    def as_if_falling(route) -> None:
        body = route.fetch().json()
        body["pricing"]["price_response"] = "falls"
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/v1/items/evaluate", as_if_falling)
    pricing = evaluate(page)
    traces = plotted(page)
    n = len(pricing["curve"])
    assert n >= 2 and traces["P10"] == traces["P10–P90 (weekly quantiles summed)"] == n
    model = [k for k in traces if k.startswith("Model")]
    assert len(model) == 1 and traces[model[0]] == n
    band = page.evaluate("document.getElementById('pricing-chart').data.map(t => t.fill || '')")
    assert band.count("tonexty") == 1
    expect(page.locator("#pricing-verdict")).to_have_text(
        "The model's expected units fall as the price rises."
    )
    assert_clean(record)
