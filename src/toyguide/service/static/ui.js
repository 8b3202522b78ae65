// Shared by both pages: calling the JSON API, building DOM safely, formatting values.
// Text from the API is only ever set as text (never as HTML), so nothing it holds can run.

/** An API answer that was not 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
  }
}

function problemOf(data, response) {
  const error = data && data.error;
  if (error && typeof error.message === "string") return [error.type || "error", error.message];
  if (data && Array.isArray(data.detail)) {
    const parts = data.detail.map((d) => {
      const where = (d.loc || []).filter((p) => p !== "body").join(".");
      return where ? `${where}: ${d.msg}` : d.msg;
    });
    return ["validation", parts.join("; ")];
  }
  if (data && typeof data.detail === "string") return ["error", data.detail];
  return ["http", `the server answered ${response.status} ${response.statusText}`.trim()];
}

/**
 * Call the API on this origin and return its JSON.
 * @param {string} path e.g. "/v1/guide"
 * @param {{method?: string, body?: unknown, token?: string|null}} options
 */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check the connection and try again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, ...problemOf(data, response));
  if (data === null) throw new ApiError(response.status, "bad_response", "The server sent an answer that is not JSON.");
  return data;
}

/** A user-facing sentence for any error thrown while handling a request. */
export function messageOf(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return `Not authorised: ${error.message}`;
    if (error.status >= 500) return `The server failed (${error.status}): ${error.message}`;
    return error.message;
  }
  console.error(error); // a bug in this page: keep the details for the developer console
  return "Something went wrong on this page. Please reload it and try again.";
}

/**
 * createElement with attributes and children. Attributes: "class", "dataset" (object),
 * "on<event>" (listener), booleans (true → present, false/null/undefined → absent), others as text.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Show ``message`` in an alert region (role="alert"); an empty message hides it. */
export function setAlert(region, message = "") {
  region.textContent = message;
}

/**
 * Run ``task`` for a form: its buttons are disabled and the alert cleared while it runs; a
 * failure's message lands in ``alertRegion``. Returns the task's value, or undefined on failure.
 */
export async function submitting(form, alertRegion, task) {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => (b.disabled = true));
  form.setAttribute("aria-busy", "true");
  setAlert(alertRegion);
  try {
    return await task();
  } catch (error) {
    setAlert(alertRegion, messageOf(error));
    return undefined;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    form.setAttribute("aria-busy", "false");
  }
}

const LABELS = {
  action_figures: "action figures",
  animals_nature: "animals & nature",
  arts_crafts: "arts & crafts",
  baby_sensory: "baby & sensory",
  outdoor_active: "outdoor & active",
  pretend_play: "pretend play",
  science_stem: "science & STEM",
  children_day: "Children's Day",
  christmas: "Christmas",
  new_year: "New Year",
  baby_shower: "baby shower",
  other: "a special occasion",
};

/** A taxonomy label or occasion as words: "animals_nature" → "animals & nature". */
export function labelName(label) {
  return LABELS[label] || String(label).replaceAll("_", " ");
}

/** 1234.5 → "1,234.5"; at most ``digits`` decimals. */
export function num(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en", { maximumFractionDigits: digits });
}

export function price(value, currency) {
  if (value === null || value === undefined) return "price unknown";
  if (!currency) return num(value);
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(value);
  } catch {
    return `${num(value)} ${currency}`;
  }
}

export function percent(probability, digits = 1) {
  return `${(100 * probability).toFixed(digits)}%`;
}

function years(months) {
  return months % 12 === 0 ? String(months / 12) : (months / 12).toFixed(1).replace(/\.0$/, "");
}

/** A toy's age range in months → "ages 2–6", "0–18 months", "ages 3+". */
export function toyAges(min, max) {
  if (min === null && max === null) return "any age";
  if (min === null) return max < 24 ? `up to ${max} months` : `up to age ${years(max)}`;
  if (max === null) return min < 24 ? `${min} months +` : `ages ${years(min)}+`;
  if (max < 24) return `${min}–${max} months`;
  return `ages ${years(min)}–${years(max)}`;
}

/** A child's age slot (both bounds inclusive) → "age 5", "ages 3–4", "age 8+", "up to age 2". */
export function childAge({ min, max }) {
  if (min !== null && max !== null) {
    if (max < 24) return min === max ? `${min} months` : `${min}–${max} months`;
    if (min % 12 === 0 && (max + 1) % 12 === 0) {
      const [a, b] = [min / 12, (max + 1) / 12 - 1];
      return a === b ? `age ${a}` : `ages ${a}–${b}`;
    }
    return `ages ${years(min)}–${years(max)}`;
  }
  if (min !== null) return `age ${years(min)}+`;
  return max < 24 ? `up to ${max} months` : `up to age ${years(max + 1)}`;
}

/** A budget slot → "≤ 30 USD", "≥ 20 USD", "20–30 USD", "any price in CNY". */
export function budget({ min, max, currency }) {
  const unit = currency ? ` ${currency}` : "";
  if (min !== null && max !== null) return `${num(min)}–${num(max)}${unit}`;
  if (max !== null) return `≤ ${num(max)}${unit}`;
  if (min !== null) return `≥ ${num(min)}${unit}`;
  return `any price${currency ? ` in ${currency}` : ""}`;
}

/** A <table> of label → probability, with a bar; ``limit`` keeps the most likely rows. */
export function probabilityTable(caption, rows, limit = rows.length) {
  const body = rows.slice(0, limit).map((row) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, labelName(row.label)),
      el(
        "td",
        { class: "prob" },
        el("meter", { min: "0", max: "1", value: String(row.probability), "aria-hidden": "true" }),
        el("span", {}, percent(row.probability)),
      ),
    ),
  );
  return el(
    "table",
    { class: "probabilities", "aria-label": caption },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Label"), el("th", { scope: "col" }, "Probability"))),
    el("tbody", {}, body),
  );
}
