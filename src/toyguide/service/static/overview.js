// The merchant's morning: the shop overview (at-risk toys, top sellers, slow movers, segments)
// in sortable tables, the title search, and the reorder list as a CSV download. A toy opens in
// the dashboard's forecast chart (merchant.js) by filling its item id and submitting that form.
import { ApiError, api, el, labelName, messageOf, num, setAlert, submitting } from "./ui.js";

const TOKEN_KEY = "toyguide.merchantToken"; // the one merchant.js keeps
const $ = (id) => document.getElementById(id);

function token() {
  const value = sessionStorage.getItem(TOKEN_KEY);
  if (!value) throw new ApiError(401, "no_token", "Enter the merchant token under “Access” first.");
  return value;
}

// ---- settings --------------------------------------------------------------------------------
function whole(id, name, low, high) {
  const value = Number($(id).value);
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new ApiError(400, "input", `${name}: enter a whole number from ${low} to ${high}.`);
  }
  return value;
}

function planParams() {
  const level = Number($("overview-level").value);
  if (!(level > 0.5 && level <= 0.9999)) throw new ApiError(400, "input", "Service level: enter a number above 0.5 and at most 0.9999.");
  return new URLSearchParams({ lead_time_weeks: String(whole("overview-lead", "Lead time", 0, 52)), service_level: String(level) });
}

// ---- opening a toy in the forecast chart ------------------------------------------------------
function openForecast(itemId) {
  $("item-id").value = itemId;
  $("forecast-form").requestSubmit();
  $("forecast-heading").scrollIntoView({ block: "start" });
}

function toyLink(row) {
  return el("a", {
    href: "#forecast-heading",
    class: "toy-link",
    dataset: { itemId: row.item_id },
    title: `Forecast of ${row.item_id}`,
    onclick: (event) => {
      event.preventDefault();
      openForecast(row.item_id);
    },
  }, row.title || row.item_id);
}

// ---- sortable tables --------------------------------------------------------------------------
const NUMBER = (key, label, digits = 1) => ({ label, value: (r) => r[key], show: (r) => num(r[key], digits), numeric: true });
const COVER = { label: "Weeks of cover", value: (r) => r.weeks_of_cover, show: (r) => (r.weeks_of_cover === null ? (r.stock_on_hand === null ? "–" : "no demand") : num(r.weeks_of_cover, 1)), numeric: true };
const TOY = { label: "Toy", value: (r) => (r.title || r.item_id).toLowerCase(), show: toyLink };
const ID = { label: "Item id", value: (r) => r.item_id, show: (r) => r.item_id };

/** Compare two sort values; nulls (unknown, or no demand) always go last. */
function compare(a, b, direction) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return (a < b ? -1 : 1) * direction;
}

function sortBy(table, columns, index, direction) {
  const body = table.tBodies[0];
  const rows = [...body.rows].sort((x, y) => compare(x.sortValues[index], y.sortValues[index], direction));
  body.replaceChildren(...rows);
  table.querySelectorAll("thead th").forEach((th, i) => {
    th.setAttribute("aria-sort", i === index ? (direction > 0 ? "ascending" : "descending") : "none");
  });
}

/** A table whose column headers sort it (click again to reverse); aria-sort says how. */
function sortableTable(name, caption, columns, rows, empty) {
  if (!rows.length) return el("div", { class: "table-block" }, el("h3", {}, caption), el("p", { class: "hint", dataset: { testid: `${name}-empty` } }, empty));
  const table = el("table", { class: "sortable", dataset: { table: name } },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { scope: "col", "aria-sort": "none", class: c.numeric ? "n" : null },
      el("button", { type: "button", onclick: () => {
        const th = table.tHead.rows[0].cells[i];
        const direction = th.getAttribute("aria-sort") === "ascending" ? -1 : th.getAttribute("aria-sort") === "descending" ? 1 : (c.numeric ? -1 : 1);
        sortBy(table, columns, i, direction);
      } }, c.label))))),
    el("tbody", {}, rows.map((r) => {
      const tr = el("tr", { dataset: { itemId: r.item_id ?? "" } }, columns.map((c) => el("td", { class: c.numeric ? "n" : null }, c.show(r))));
      tr.sortValues = columns.map((c) => c.value(r));
      return tr;
    })),
  );
  return el("div", { class: "table-block table-scroll" }, table);
}

// ---- the overview -------------------------------------------------------------------------------
function summary(o) {
  const stock = o.stock_known === o.toys ? `stock known for all ${num(o.toys, 0)} toys` : `stock known for ${num(o.stock_known, 0)} of ${num(o.toys, 0)} toys`;
  return `Sales history to the week of ${o.as_of}; ${stock}. ${num(o.at_risk_count, 0)} toys at risk of running out within ${o.lead_time_weeks} weeks at a ${(100 * o.service_level).toFixed(1)}% service level; ${num(o.slow_mover_count, 0)} slow movers.`;
}

function segmentsTable(o) {
  const caption = o.segments_source === "region" ? "Shoppers by region" : "Shoppers by predicted child age band · gender · top interest";
  const columns = [
    { label: o.segments_source === "region" ? "Region" : "Segment", value: (s) => s.segment.toLowerCase(), show: (s) => (o.segments_source === "region" ? s.segment : s.segment.split(" · ").map(labelName).join(" · ")) },
    { label: "Shoppers", value: (s) => s.shoppers, show: (s) => num(s.shoppers, 0), numeric: true },
    { label: "Share", value: (s) => s.share, show: (s) => `${(100 * s.share).toFixed(1)}%`, numeric: true },
    { label: "Events per shopper", value: (s) => s.mean_events, show: (s) => num(s.mean_events, 1), numeric: true },
  ];
  return sortableTable("segments", caption, columns, o.segments, "No shopper segments for this shop.");
}

function render(o) {
  const weeks = o.outlook_weeks.length;
  const atRisk = [TOY, ID, NUMBER("stock_on_hand", "Stock", 0), NUMBER("lead_time_demand", `Demand over ${o.lead_time_weeks} weeks`),
    NUMBER("reorder_point", "Reorder point"), NUMBER("order_quantity", "Order now", 0), COVER];
  const top = [TOY, ID, NUMBER("expected_units", `Expected units, next ${weeks} weeks`), NUMBER("p10", "P10", 0), NUMBER("p90", "P90", 0),
    NUMBER("sold_recently", "Sold, last 4 weeks", 0), NUMBER("stock_on_hand", "Stock", 0)];
  const slow = [TOY, ID, NUMBER("stock_on_hand", "Stock", 0), NUMBER("expected_units", `Expected units, next ${weeks} weeks`),
    NUMBER("sold_recently", "Sold, last 4 weeks", 0), COVER];
  const noStock = o.stock_known === 0 ? "The store holds no stock on hand: nothing to show here." : null;
  $("overview-result").replaceChildren(
    el("p", { class: "overview-summary", dataset: { testid: "overview-summary" } }, summary(o)),
    o.notes.length ? el("ul", { class: "notes", "aria-label": "Notes" }, o.notes.map((n) => el("li", {}, n))) : null,
    el("div", { class: "overview-tables" },
      sortableTable("at-risk", `At risk of running out (${num(o.at_risk_count, 0)})`, atRisk, o.at_risk, noStock || "No toy is below its reorder point."),
      sortableTable("top-sellers", `Top expected sellers, next ${weeks} weeks`, top, o.top_sellers, "No forecasts."),
      sortableTable("slow-movers", `Slow movers: over 12 weeks of cover (${num(o.slow_mover_count, 0)})`, slow, o.slow_movers, noStock || "No slow movers."),
      segmentsTable(o)),
  );
}

async function showOverview() {
  const params = planParams();
  params.set("limit", String(whole("overview-limit", "Rows per list", 1, 200)));
  render(await api(`/v1/merchant/overview?${params}`, { token: token() }));
}

// ---- the reorder list as CSV -------------------------------------------------------------------
function fileName(response) {
  const match = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
  return match ? match[1] : "reorder.csv";
}

async function exportReorderList() {
  const params = planParams();
  let response;
  try {
    response = await fetch(`/v1/merchant/reorder.csv?${params}`, { headers: { Authorization: `Bearer ${token()}` }, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check the connection and try again.");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, "http", data?.error?.message || `the server answered ${response.status}`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: fileName(response), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- finding a toy by title ----------------------------------------------------------------------
async function findToys() {
  const q = $("find-title").value.trim();
  if (!q) throw new ApiError(400, "input", "Type a few words of the toy's title.");
  const { toys } = await api(`/v1/merchant/toys?${new URLSearchParams({ q, k: "12" })}`, { token: token() });
  const list = $("find-results");
  list.replaceChildren(...(toys.length
    ? toys.map((t) => el("li", {}, el("button", { type: "button", dataset: { itemId: t.item_id }, onclick: () => openForecast(t.item_id) },
      t.title || t.item_id, " ", el("span", { class: "hint" }, `${t.item_id} · stock ${t.stock_on_hand === null ? "unknown" : num(t.stock_on_hand, 0)} · ~${num(t.expected_units, 0)} expected`))))
    : [el("li", { class: "hint" }, `No toy's title holds every word of “${q}”.`)]));
  list.hidden = false;
}

// ---- wiring ----------------------------------------------------------------------------------
function init() {
  const form = $("overview-form");
  const load = () => submitting(form, $("overview-alert"), showOverview);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("reorder-export").addEventListener("click", () => submitting(form, $("overview-alert"), exportReorderList));
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitting($("find-form"), $("find-alert"), findToys);
  });
  // merchant.js saves the token on this submit first (its module ran first): then load.
  $("token-form").addEventListener("submit", () => load());
  if (sessionStorage.getItem(TOKEN_KEY)) load(); // the page opens on the overview
  else setAlert($("overview-alert"), "");
}

try {
  init();
} catch (error) {
  console.error(messageOf(error));
}
