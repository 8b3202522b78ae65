// The merchant dashboard: forecast chart (plotly), inventory plan, new-toy evaluator and shopper
// segments. Every call carries the merchant token from sessionStorage as a Bearer header.
import { ApiError, api, el, labelName, num, percent, price, probabilityTable, setAlert, submitting } from "./ui.js";
import { pricingSection } from "./pricing.js";

const TOKEN_KEY = "toyguide.merchantToken";
const $ = (id) => document.getElementById(id);

// ---- token ---------------------------------------------------------------------------------
function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function saveToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  $("token-state").textContent = value
    ? "A token is set for this browser tab (kept until the tab closes)."
    : "No token set: enter the merchant token to use the dashboard.";
}

function merchantApi(path, options = {}) {
  const value = token();
  if (!value) {
    return Promise.reject(new ApiError(401, "no_token", "Enter the merchant token under “Access” first."));
  }
  return api(path, { ...options, token: value });
}

// ---- plotly, loaded on first use (4.8 MB) ----------------------------------------------------
let plotly = null;
function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = el("script", { src: $("merchant-script").dataset.plotly });
    script.addEventListener("load", () => resolve(window.Plotly));
    script.addEventListener("error", () => {
      plotly = null;
      reject(new Error("plotly.js could not be loaded"));
    });
    document.head.append(script);
  });
  return plotly;
}

// ---- forecast --------------------------------------------------------------------------------
function itemId() {
  const value = $("item-id").value.trim();
  if (!value) throw new ApiError(400, "input", "Enter an item id.");
  return value;
}

async function showForecast() {
  const id = itemId();
  const [forecast, Plotly] = await Promise.all([merchantApi(`/v1/forecast/${encodeURIComponent(id)}`), loadPlotly()]);
  const band = "rgba(214, 110, 30, 0.22)";
  const traces = [
    { x: forecast.history_weeks, y: forecast.history_units, name: "Units sold", mode: "lines+markers", line: { color: "#1f5f8b", width: 2 }, marker: { size: 4 } },
    { x: forecast.weeks, y: forecast.p10, name: "P10", mode: "lines", line: { width: 0 }, showlegend: false, hovertemplate: "P10 %{y:.1f}<extra></extra>" },
    { x: forecast.weeks, y: forecast.p90, name: "P10–P90 interval", mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: band, hovertemplate: "P90 %{y:.1f}<extra></extra>" },
    { x: forecast.weeks, y: forecast.p50, name: "Forecast (P50)", mode: "lines+markers", line: { color: "#c4561a", width: 2, dash: "dash" }, marker: { size: 5 }, hovertemplate: "P50 %{y:.1f}<extra></extra>" },
  ];
  const layout = {
    margin: { t: 16, r: 16, b: 48, l: 56 },
    height: 340,
    xaxis: { title: { text: "Week" }, type: "date" },
    yaxis: { title: { text: "Units per week" }, rangemode: "tozero" },
    legend: { orientation: "h", y: 1.12 },
    hovermode: "x unified",
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
  };
  $("forecast-figure").hidden = false; // plotly measures the element: it must be visible first
  await Plotly.react($("forecast-chart"), traces, layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
  const sold = forecast.history_units.reduce((a, b) => a + b, 0);
  const expected = forecast.p50.reduce((a, b) => a + b, 0);
  const summary = `${forecast.item_id}: ${num(sold, 0)} units sold in the last ${forecast.history_weeks.length} weeks; about ${num(expected, 1)} expected over the next ${forecast.weeks.length} weeks (sum of weekly P50).`;
  $("forecast-caption").textContent = summary;
  $("forecast-chart").setAttribute("aria-label", `Weekly unit sales and forecast with P10–P90 interval. ${summary}`);
}

// ---- inventory plan --------------------------------------------------------------------------
function numberField(id, name, { optional = false, integer = false } = {}) {
  const raw = $(id).value.trim();
  if (raw === "" && optional) return null;
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new ApiError(400, "input", `${name}: enter ${integer ? "a whole number" : "a number"}.`);
  }
  return value;
}

async function showPlan() {
  const body = {
    item_id: itemId(),
    lead_time_weeks: numberField("lead-time", "Lead time", { integer: true }),
    service_level: numberField("service-level", "Service level"),
    stock_on_hand: numberField("stock", "Stock on hand", { optional: true }),
    on_order: numberField("on-order", "On order", { optional: true }) ?? 0,
    review_weeks: numberField("review-weeks", "Review period", { integer: true }),
  };
  const plan = await merchantApi("/v1/inventory/plan", { method: "POST", body });
  const weeks = plan.lead_time_weeks + plan.review_weeks;
  const rows = [
    ["Stock on hand", num(plan.stock_on_hand, 1)],
    [`Expected demand over ${weeks} weeks (lead time + review)`, num(plan.demand_over_protection, 1)],
    [`Safety stock (${percent(plan.service_level, 1)} service level)`, num(plan.safety_stock, 1)],
    ["Reorder point", num(plan.reorder_point, 1)],
    ["Order quantity now", num(plan.order_quantity, 1)],
    ["Weeks of cover", plan.weeks_of_cover === null ? "no demand expected" : num(plan.weeks_of_cover, 1)],
  ];
  const advice = plan.order_quantity > 0
    ? `Order ${num(Math.ceil(plan.order_quantity), 0)} units of ${plan.item_id} now.`
    : `No order needed for ${plan.item_id} yet; reorder when stock falls to ${num(plan.reorder_point, 1)} units.`;
  $("plan-result").replaceChildren(
    el("p", { class: "advice" }, advice),
    el("table", { class: "plan", "aria-label": "Inventory plan" },
      el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v))))),
  );
  $("plan-result").hidden = false;
}

// ---- new-toy evaluator -----------------------------------------------------------------------
function demandTable(demand) {
  const weeks = (demand.p50 || []).map((_, i) => i);
  if (!weeks.length) return el("p", { class: "hint" }, "This model has no sales task: no demand estimate.");
  const total = (key) => num(demand[key].reduce((a, b) => a + b, 0), 1);
  return el("table", { class: "demand", "aria-label": "First weeks demand" },
    el("caption", {}, `First ${weeks.length} weeks: about ${total("p50")} units (sum of weekly P50)`),
    el("thead", {}, el("tr", {}, ["Week", "P10", "P50", "P90"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, weeks.map((i) => el("tr", {}, el("th", { scope: "row" }, String(i + 1)), ["p10", "p50", "p90"].map((k) => el("td", {}, num(demand[k][i], 1)))))),
  );
}

function similarList(picks) {
  return el("ol", { class: "similar", "aria-label": "Similar toys" }, picks.map((p) =>
    el("li", {}, el("span", { class: "title" }, p.item.title || p.item.item_id), " ",
      el("span", { class: "hint" }, `${p.item.item_id} · ${p.item.brand || "no brand"} · ${price(p.item.price, p.item.currency)} · similarity ${num(p.score, 2)}`))));
}

async function showEvaluation() {
  const title = $("toy-title").value.trim();
  if (!title) throw new ApiError(400, "input", "Enter the toy's title.");
  const body = {
    title,
    description: $("toy-description").value.trim(),
    brand: $("toy-brand").value.trim() || null,
    price: numberField("toy-price", "Price", { optional: true }),
  };
  const result = await merchantApi("/v1/items/evaluate", { method: "POST", body });
  const position = result.price_percentile === null
    ? "Give a price to see where it sits among similar toys."
    : `Priced above ${num(result.price_percentile, 1)}% of the ${result.similar.length} most similar toys.`;
  const pricing = pricingSection(result.pricing);
  $("evaluate-result").replaceChildren(
    el("div", { class: "result-grid" },
      probabilityTable("Predicted age band", result.age_band),
      probabilityTable("Gender target", result.gender_target),
      probabilityTable("Functions (top 6, each independent)", result.functions, 6),
      demandTable(result.first_weeks_demand)),
    el("h3", {}, "Price position"),
    el("p", { class: "price-position" }, position),
    pricing.node,
    el("h3", {}, "Similar toys in the catalogue"),
    similarList(result.similar),
  );
  $("evaluate-result").hidden = false;
  await pricing.draw(loadPlotly);
}

// ---- shopper segment ------------------------------------------------------------------------
function knownList(known) {
  const entries = Object.entries(known);
  if (!entries.length) return el("p", { class: "hint" }, "The shop holds no labels for this shopper.");
  const show = (v) => (Array.isArray(v) ? v.map(labelName).join(", ") : labelName(String(v)));
  return el("dl", { class: "known" }, entries.map(([k, v]) => [el("dt", {}, labelName(k)), el("dd", {}, show(v))]));
}

async function showProfile() {
  const id = $("shopper-id").value.trim();
  if (!id) throw new ApiError(400, "input", "Enter a shopper id.");
  const profile = await merchantApi(`/v1/shoppers/${encodeURIComponent(id)}/profile`);
  $("segment-result").replaceChildren(
    el("p", { class: "segment" }, el("span", { class: "hint" }, "Segment "), el("strong", { "data-testid": "segment" }, profile.segment)),
    el("p", {}, `${profile.shopper_id}: ${profile.n_events} events.`),
    el("h3", {}, "What the shop knows"),
    knownList(profile.known),
    el("div", { class: "result-grid" },
      probabilityTable("Child's age band", profile.age_band, 3),
      probabilityTable("Child's gender", profile.gender),
      probabilityTable("Interests (top 5)", profile.interests, 5)),
  );
  $("segment-result").hidden = false;
}

async function showSegments() {
  const data = await merchantApi("/v1/segments?top=20");
  const rows = data.segments.map((s) =>
    el("tr", {}, el("td", {}, s.segment), el("td", {}, String(s.shoppers)),
      el("td", {}, `${(100 * s.share).toFixed(1)}%`), el("td", {}, s.mean_events.toFixed(1))));
  $("segments-table").querySelector("tbody").replaceChildren(...rows);
  $("segments-table").hidden = false;
}

// ---- wiring --------------------------------------------------------------------------------
function onSubmit(formId, alertId, task) {
  const form = $(formId);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, $(alertId), task);
  });
}

function init() {
  $("token").value = token() || "";
  saveToken(token());
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveToken($("token").value.trim());
  });
  $("token").addEventListener("change", () => saveToken($("token").value.trim()));
  $("token-forget").addEventListener("click", () => {
    $("token").value = "";
    saveToken(null);
  });
  onSubmit("forecast-form", "forecast-alert", showForecast);
  onSubmit("plan-form", "plan-alert", showPlan);
  onSubmit("evaluate-form", "evaluate-alert", showEvaluation);
  onSubmit("segment-form", "segment-alert", showProfile);
  onSubmit("segments-form", "segments-alert", showSegments);
}

init();
