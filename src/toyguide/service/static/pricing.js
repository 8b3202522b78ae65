// The new-toy evaluator's pricing block: the suggested range, a chart of the similar toys' prices
// against what they sold with the sales model's curve over candidate prices, the method and its
// uncertainty, and the similar toys as a table. The curve is drawn only when the model's units
// move one way with price (price_response "falls" or "rises"): a flat or zig-zag forecast says
// nothing about price, and a drawn line would suggest it did.
import { el, num, price } from "./ui.js";

const DRAWN = new Set(["falls", "rises"]);
const VERDICT = {
  falls: "The model's expected units fall as the price rises.",
  rises: "The model's expected units rise with the price.",
  flat: "The model's forecast does not move with price: no curve is drawn.",
  non_monotone: "The model's forecast goes up and down with price, which reads as noise: no curve is drawn.",
  no_price_input: "This model was trained without prices as an input: no curve.",
  no_sales_task: "This model has no sales task: no curve.",
  no_prices: "None of the most similar toys has a price.",
};

function observed(toy, weeks) {
  if (toy.first_weeks_units !== null) return { units: toy.first_weeks_units, launched: true };
  if (toy.mean_weekly_units !== null && weeks > 0) return { units: toy.mean_weekly_units * weeks, launched: false };
  return null;
}

function similarTable(pricing) {
  const weeks = pricing.horizon_weeks;
  const heads = ["Toy", "Price", "Similarity", weeks ? `Units in first ${weeks} weeks` : "Units in first weeks", "Mean units a week"];
  return el("table", { class: "pricing-similar", "aria-label": "Similar toys' prices and demand" },
    el("caption", {}, `The ${pricing.similar.length} most similar toys with a price in ${pricing.currency || "the shop's currency"}`),
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, pricing.similar.map((s) => el("tr", {},
      el("th", { scope: "row" }, s.title || s.item_id, " ", el("span", { class: "hint" }, s.item_id)),
      el("td", {}, price(s.price, s.currency)),
      el("td", {}, num(s.similarity, 2)),
      el("td", { title: s.first_weeks_units === null ? "on sale from the data's start, or too close to its end" : "" }, num(s.first_weeks_units, 1)),
      el("td", {}, num(s.mean_weekly_units, 2))))));
}

function traces(pricing) {
  const weeks = pricing.horizon_weeks;
  const points = pricing.similar.map((s) => ({ s, o: observed(s, weeks) })).filter((p) => p.o !== null);
  const marker = (launched) => ({
    x: points.filter((p) => p.o.launched === launched).map((p) => p.s.price),
    y: points.filter((p) => p.o.launched === launched).map((p) => p.o.units),
    text: points.filter((p) => p.o.launched === launched).map((p) => p.s.title || p.s.item_id),
    mode: "markers",
    hovertemplate: "%{text}<br>%{x}: %{y:.1f} units<extra></extra>",
  });
  const out = [];
  const launched = marker(true);
  if (launched.x.length) out.push({ ...launched, name: `Similar toys: units in their first ${weeks} weeks`, marker: { color: "#1f5f8b", size: 9 } });
  const older = marker(false);
  if (older.x.length) out.push({ ...older, name: `Similar toys on sale before the data: ${weeks} × mean weekly units`, marker: { color: "#1f5f8b", size: 9, symbol: "circle-open" } });
  if (DRAWN.has(pricing.price_response)) {
    const x = pricing.curve.map((p) => p.price);
    out.push(
      { x, y: pricing.curve.map((p) => p.p10), name: "P10", mode: "lines", line: { width: 0 }, showlegend: false, hovertemplate: "P10 %{y:.1f}<extra></extra>" },
      { x, y: pricing.curve.map((p) => p.p90), name: "P10–P90 (weekly quantiles summed)", mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(214, 110, 30, 0.22)", hovertemplate: "P90 %{y:.1f}<extra></extra>" },
      { x, y: pricing.curve.map((p) => p.mean), name: `Model: expected units in the first ${weeks} weeks`, mode: "lines+markers", line: { color: "#c4561a", width: 2 }, marker: { size: 6 }, hovertemplate: "%{x}: %{y:.1f} units<extra></extra>" },
    );
  }
  return out;
}

function layout(pricing) {
  const range = pricing.suggested_low === null ? [] : [{
    type: "rect", xref: "x", yref: "paper", x0: pricing.suggested_low, x1: pricing.suggested_high, y0: 0, y1: 1,
    fillcolor: "rgba(63, 163, 77, 0.15)", line: { width: 0 }, layer: "below",
  }];
  return {
    margin: { t: 16, r: 16, b: 52, l: 60 },
    height: 360,
    xaxis: { title: { text: `Price (${pricing.currency || "shop currency"}, log scale)` }, type: "log" },
    yaxis: { title: { text: "Units" }, rangemode: "tozero" },
    legend: { orientation: "h", y: 1.18 },
    shapes: range,
    annotations: range.length ? [{ x: Math.log10(Math.sqrt(pricing.suggested_low * pricing.suggested_high)), y: 1, xref: "x", yref: "paper", text: "suggested range", showarrow: false, yanchor: "top", font: { size: 11, color: "#2d7a38" } }] : [],
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
  };
}

/**
 * The pricing block for an evaluation's ``pricing``: ``node`` to insert, and ``draw(loadPlotly)``
 * to call once the node is in the page and visible (plotly measures its element).
 */
export function pricingSection(pricing) {
  if (!pricing) return { node: el("p", { class: "hint" }, "No pricing for this evaluation."), draw: async () => {} };
  const hasRange = pricing.suggested_low !== null;
  const suggestion = hasRange
    ? `${price(pricing.suggested_low, pricing.currency)} – ${price(pricing.suggested_high, pricing.currency)}` +
      ` (similarity-weighted middle half of the similar toys' prices; median ${price(pricing.suggested_median, pricing.currency)})`
    : "No suggestion: none of the similar toys has a price.";
  const data = hasRange ? traces(pricing) : [];
  const figure = el("figure", { id: "pricing-figure", hidden: true },
    el("div", { id: "pricing-chart", class: "chart", role: "img", "aria-label": `Similar toys' prices and units sold. ${VERDICT[pricing.price_response]}` }),
    el("figcaption", { id: "pricing-verdict" }, VERDICT[pricing.price_response]));
  const node = el("div", { class: "pricing", "data-price-response": pricing.price_response },
    el("h3", {}, "Suggested price"),
    el("p", { class: "price-range", "data-testid": "price-range" }, suggestion),
    data.length ? figure : el("p", { id: "pricing-verdict", class: "hint" }, VERDICT[pricing.price_response]),
    el("h4", {}, "Method"),
    el("p", { class: "method" }, pricing.method),
    pricing.uncertainty ? el("p", { class: "method" }, pricing.uncertainty) : null,
    pricing.similar.length ? similarTable(pricing) : null);
  const draw = async (loadPlotly) => {
    if (!data.length) return;
    const Plotly = await loadPlotly();
    figure.hidden = false;
    await Plotly.react(figure.querySelector(".chart"), data, layout(pricing), { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
  };
  return { node, draw };
}
