// The shopper's guide: a free-text request → POST /v1/guide; follow-ups keep the dialogue_id;
// editing the parsed needs (chips) re-asks POST /v1/recommendations with the edited request.
import { api, budget, childAge, el, labelName, messageOf, price, setAlert, toyAges } from "./ui.js";

const K = 8; // picks per answer: one screenful of cards
const $ = (id) => document.getElementById(id);

const state = {
  dialogueId: null,
  request: null, // the parsed GuideRequest JSON of the latest answer
  edited: null, // needs the shopper edited since; sent with the next turn
  turns: [], // what the shopper typed, in order
  seq: 0, // answers to superseded questions are dropped
};

// ---- talking to the API --------------------------------------------------------------------
/** While an answer is awaited, the buttons that would start another turn are disabled. */
function setBusy(busy) {
  $("results").setAttribute("aria-busy", String(busy));
  document.body.classList.toggle("busy", busy);
  for (const button of document.querySelectorAll("main button")) button.disabled = busy;
}

async function answer(call) {
  const seq = ++state.seq;
  setAlert($("guide-alert"));
  setBusy(true);
  try {
    const data = await call();
    if (seq === state.seq) render(data);
  } catch (error) {
    if (seq === state.seq) setAlert($("guide-alert"), messageOf(error));
  } finally {
    if (seq === state.seq) {
      setBusy(false);
    }
  }
}

function ask(text, dialogueId) {
  return answer(async () => {
    const body = { text, dialogue_id: dialogueId, shopper_id: null, k: K };
    if (state.edited) body.request = state.edited; // edited chips replace the dialogue's needs
    const data = await api("/v1/guide", { method: "POST", body });
    state.edited = null;
    state.dialogueId = data.dialogue_id;
    state.turns = dialogueId ? [...state.turns, text] : [text];
    return data;
  });
}

function reask(request) {
  state.edited = request;
  return answer(async () => {
    const data = await api("/v1/recommendations", {
      method: "POST",
      body: { shopper_id: null, request, text: state.turns.join(" "), k: K },
    });
    return { ...data, request: data.request ?? request };
  });
}

function followUp(text) {
  if (!state.dialogueId) return ask(text, null);
  return ask(text, state.dialogueId);
}

// ---- the needs as chips --------------------------------------------------------------------
/** One chip per stated need: {slot, value, kind, text, edit?}. */
function chipsOf(request) {
  const chips = [];
  if (request.age_months) {
    chips.push({ slot: "age", value: JSON.stringify(request.age_months), kind: "", text: childAge(request.age_months), edit: "age" });
  }
  if (request.gender) chips.push({ slot: "gender", value: request.gender, kind: "For a", text: request.gender, edit: "gender" });
  if (request.budget) {
    chips.push({ slot: "budget", value: JSON.stringify(request.budget), kind: "Budget", text: budget(request.budget), edit: "budget" });
  }
  for (const label of request.interests) chips.push({ slot: "interests", value: label, kind: "Likes", text: labelName(label) });
  for (const label of request.exclude) chips.push({ slot: "exclude", value: label, kind: "Not", text: labelName(label) });
  // features ruled out ("no batteries"); the field is absent when none is
  for (const feature of request.avoid || []) chips.push({ slot: "avoid", value: feature, kind: "Without", text: labelName(feature) });
  if (request.occasion) chips.push({ slot: "occasion", value: request.occasion, kind: "Occasion", text: labelName(request.occasion) });
  return chips;
}

function without(request, chip) {
  const next = structuredClone(request);
  if (chip.slot === "age") next.age_months = null;
  else if (chip.slot === "interests" || chip.slot === "exclude" || chip.slot === "avoid") next[chip.slot] = next[chip.slot].filter((l) => l !== chip.value);
  else next[chip.slot] = null;
  return next;
}

function edited(request, chip, raw) {
  const next = structuredClone(request);
  const value = Number(raw);
  if (chip.edit === "age") next.age_months = { min: Math.round(value * 12), max: Math.round(value * 12) + 11 };
  if (chip.edit === "budget") {
    const old = request.budget;
    next.budget = { min: old.min !== null && old.min < value ? old.min : null, max: value, currency: old.currency };
  }
  return next;
}

function chipEditor(chip, item) {
  const isAge = chip.edit === "age";
  const input = el("input", {
    type: "number", min: "0", max: isAge ? "17" : "100000", step: isAge ? "1" : "0.01", required: true,
    id: `edit-${chip.slot}`, value: isAge ? String(Math.floor((state.request.age_months.min ?? 0) / 12)) : String(state.request.budget.max ?? ""),
  });
  const form = el(
    "form", { class: "chip-edit", novalidate: true },
    el("label", { for: input.id }, isAge ? "Age in years" : "Budget up to"),
    input,
    el("button", { type: "submit" }, "Apply"),
    el("button", { type: "button", onclick: () => renderChips() }, "Cancel"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number(input.value);
    if (input.value === "" || !Number.isFinite(value) || value < 0 || (isAge && value > 17)) {
      setAlert($("guide-alert"), isAge ? "Enter an age in years between 0 and 17." : "Enter a budget of 0 or more.");
      return;
    }
    reask(edited(state.request, chip, value));
  });
  form.addEventListener("keydown", (event) => event.key === "Escape" && renderChips());
  item.replaceChildren(form);
  input.focus();
  input.select();
}

function onChipClick(chip, item) {
  if (chip.edit === "gender") reask({ ...state.request, gender: chip.value === "girl" ? "boy" : "girl" });
  else chipEditor(chip, item);
}

function renderChip(chip) {
  const item = el("li", { class: `chip chip-${chip.slot}`, dataset: { slot: chip.slot, value: chip.value } });
  const name = chip.kind ? `${chip.kind} ${chip.text}` : chip.text;
  const kind = chip.kind ? [el("span", { class: "chip-kind" }, chip.kind), " "] : [];
  const label = chip.edit
    ? el("button", {
        type: "button", class: "chip-label",
        "aria-label": chip.edit === "gender" ? `${name}: switch to ${chip.value === "girl" ? "boy" : "girl"}` : `Change ${name}`,
        onclick: () => onChipClick(chip, item),
      }, kind, chip.text)
    : el("span", { class: "chip-label" }, kind, chip.text);
  const remove = el("button", {
    type: "button", class: "chip-remove", "aria-label": `Remove ${name}`, title: `Remove ${name}`,
    onclick: () => reask(without(state.request, chip)),
  }, "×");
  item.append(label, remove);
  return item;
}

function renderChips() {
  const chips = chipsOf(state.request);
  $("chips").replaceChildren(...chips.map(renderChip));
  $("no-needs").hidden = chips.length > 0;
}

// ---- the picks -----------------------------------------------------------------------------
function renderPick(pick, index) {
  const { item } = pick;
  const id = `pick-${index}`;
  const stock = item.stock_on_hand !== null && item.stock_on_hand <= 3 ? el("span", { class: "stock" }, `only ${item.stock_on_hand} left`) : null;
  const audience = { boy: "marketed to boys", girl: "marketed to girls", unisex: "for everyone" }[item.gender_target];
  return el(
    "li", { class: `card fn-${item.functions[0] || "none"}`, dataset: { itemId: item.item_id } },
    el(
      "article", { "aria-labelledby": id },
      el("h3", { id }, item.title || item.item_id),
      el("p", { class: "meta" }, el("span", { class: "price" }, price(item.price, item.currency)), item.brand ? el("span", { class: "maker" }, item.brand) : null, stock),
      el("p", { class: "ages" }, toyAges(item.age_min_months, item.age_max_months), audience ? ` · ${audience}` : ""),
      el("ul", { class: "tags", "aria-label": "Functions" }, item.functions.map((f) => el("li", {}, labelName(f)))),
      el("h4", { class: "why" }, "Why this toy"),
      el("ul", { class: "reasons", "aria-label": "Reasons" }, pick.reasons.map((r) => el("li", {}, r))),
    ),
  );
}

function render(data) {
  state.request = data.request;
  $("conversation").hidden = !state.request;
  $("results-section").hidden = false;
  if (state.request) renderChips();
  $("turns").replaceChildren(...state.turns.map((t) => el("li", { lang: /[\u3400-\u9fff]/.test(t) ? "zh" : "en" }, t)));
  $("results").replaceChildren(...data.picks.map(renderPick));
  const count = data.picks.length === 1 ? "1 toy" : `${data.picks.length} toys`;
  $("guide-status").textContent = [data.picks.length ? `${count} found.` : "No toys found.", ...(data.notes || [])].join(" ");
}

// ---- wiring --------------------------------------------------------------------------------
function init() {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("request-text").value.trim();
    if (!text) {
      setAlert($("guide-alert"), "Tell the guide who the toy is for: age, what they like, your budget.");
      $("request-text").focus();
      return;
    }
    ask(text, null);
  });
  $("followup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("followup-text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    followUp(text);
  });
  for (const button of document.querySelectorAll("[data-turn]")) {
    button.addEventListener("click", () => followUp(button.dataset.turn));
  }
}

init();
