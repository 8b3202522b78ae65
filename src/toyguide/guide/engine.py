"""The guide: one object answering shoppers and merchants from a trained model and the store.

``Guide.load(model_dir, store)`` verifies and loads the serving folder once; every answer is a
view dataclass (guide/views.py) that the CLI prints and the HTTP API returns.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from toyguide.data.store import IngestReport, Store
from toyguide.data.taxonomy import AGE_BANDS, CHILD_GENDERS, FUNCTIONS, GENDER_TARGETS
from toyguide.errors import ConfigError, NotFoundError
from toyguide.guide.catalogue import Catalogue
from toyguide.guide.currency import DEFAULT_RATES, ExchangeRates
from toyguide.guide.dialogue import Dialogue
from toyguide.guide.inventory import plan_inventory
from toyguide.guide.loaded import (
    LoadedModel,
    label_probabilities,
    load_model_folder,
    neighbour_candidates,
    row_scores,
    sales_forecasts,
    shopper_state,
    top_k,
)
from toyguide.guide.new_toy import (
    NewToy,
    encode_new_toy,
    new_toy_demand,
    new_toy_tokens,
    toy_pricing,
)
from toyguide.guide.overview import (
    CatalogueForecast,
    MerchantOverview,
    OverviewRow,
    ToyMatch,
    build_overview,
    find_by_title,
    forecast_catalogue,
    region_segments,
    reorder_rows,
)
from toyguide.guide.pricing import price_percentile
from toyguide.guide.recommend import CANDIDATES, rank_items
from toyguide.guide.request import GuideRequest
from toyguide.guide.rules import check_rules, rule_notes
from toyguide.guide.segments import predicted_segments
from toyguide.guide.semantic import match_text
from toyguide.guide.shopper_cache import DEFAULT_SHOPPERS, ShopperVectors
from toyguide.guide.views import (
    Forecast,
    InventoryPlan,
    ItemView,
    Pick,
    Recommendations,
    Segment,
    ShopperProfile,
    ToyEvaluation,
)

__all__ = ["Guide"]

POPULARITY_WEIGHT = 0.3  # log-popularity prior for shoppers the model has not seen
PRICING_SIMILAR = 20  # similar toys whose prices make the suggested range
NO_HISTORY_NOTE = (
    "this shop has no purchase or sales history: picks are ranked by how closely each toy's "
    "text matches the request and by its stated or predicted age and functions, not by what "
    "shoppers bought"
)


class Guide:
    def __init__(
        self, loaded: LoadedModel, store: Store, semantic: Any = None,
        rates: ExchangeRates = DEFAULT_RATES, shopper_cache: int = DEFAULT_SHOPPERS,
    ) -> None:  # fmt: skip
        from toyguide.features.text_onnx import OnnxTextEmbedder

        self.loaded, self.store, self.semantic, self.rates = loaded, store, semantic, rates
        self.data, self.model = loaded.data, loaded.model
        self.catalogue = Catalogue.from_store(store, list(self.data.vocabs["items"].tokens))
        self.embedder = OnnxTextEmbedder()  # MiniLM, int8 where checked: ~4x PyTorch speed
        if semantic is not None and semantic.embedder is None:
            semantic.embedder = self.embedder  # one MiniLM per worker, on ONNX Runtime too
        self.popularity, self.popularity_source = self._popularity()
        self._segments: list[Segment] | None = None
        self._book: CatalogueForecast | None = None  # every toy's forecast, on first use
        self._book_lock = threading.Lock()
        self.shoppers = ShopperVectors(loaded, CANDIDATES, shopper_cache)
        with torch.no_grad():
            self.item_space = (
                loaded.model_for("preference").item_vectors()
                if "preference" in self.model.tasks
                else None
            )
            if "attributes" in self.model.tasks:
                self.catalogue.fill_predictions(*self._predicted_attributes())

    def _popularity(self) -> tuple[np.ndarray, str | None]:
        """log(1 + count) per catalogue row and what was counted: the target events of the
        run's sequences, else units in the store's weekly sales (a shop with sales but no
        shopper events); zeros and None when the shop has no history at all."""
        n = len(self.catalogue.ids)
        seqs = self.data.sequences
        if seqs is not None and seqs.is_target.any():
            counts = np.bincount(seqs.items[seqs.is_target], minlength=n).astype(np.float64)
            return np.log1p(counts), "events"
        sold = self.store.query("SELECT item_id, sum(units) AS units FROM sales GROUP BY 1")
        counts = np.zeros(n)
        if sold.height:
            rows = self.data.vocabs["items"].transform(sold["item_id"])
            np.add.at(counts, rows, sold["units"].cast(pl.Float64).fill_null(0.0).to_numpy())
            counts[0] = 0.0  # items the run does not know
        if not counts.any():
            return counts, None
        return np.log1p(np.maximum(counts, 0.0)), "sales"

    def _predicted_attributes(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Age band probabilities [N+1, bands] and function probabilities [N+1, F] for every
        catalogue item, each None when the run did not train that target (an untrained head
        only guesses)."""
        items = torch.arange(len(self.catalogue.ids))
        out = self.loaded.task_outputs("attributes", lambda m: m.attribute_outputs(
            m.encode_items(items), m.item_encoder.tokens))  # fmt: skip
        targets = self.loaded.config.features.attribute_targets
        age = torch.softmax(out["age_band"], -1).numpy() if "age_band" in targets else None
        functions = torch.sigmoid(out["functions"]).numpy() if "functions" in targets else None
        return age, functions

    @classmethod
    def load(
        cls, model_dir: Path, store_path: Path, *, semantic: bool = True,
        rates: ExchangeRates = DEFAULT_RATES, read_only: bool = False,
        shopper_cache: int = DEFAULT_SHOPPERS,
    ) -> Guide:  # fmt: skip
        """``read_only``: open the store so that other processes can read it too (then
        ``record_events`` cannot write; ``check_events`` still validates)."""
        if not Path(store_path).is_file():  # never create an empty store at a mistyped path
            raise NotFoundError(f"{store_path}: no store there")
        store = Store.open(store_path, read_only=read_only)
        from toyguide.guide.semantic import SemanticMatcher

        try:
            loaded = load_model_folder(model_dir, store)
        except BaseException:
            store.close()  # a refused folder (say, on a reload) leaves no connection behind
            raise
        return cls(loaded, store, SemanticMatcher() if semantic else None, rates, shopper_cache)

    def close(self) -> None:
        self.store.close()

    @property
    def info(self) -> dict[str, Any]:
        return self.loaded.info

    # -- items ----------------------------------------------------------------------------
    def _item_row(self, item_id: str) -> int:
        row = self.data.vocabs["items"].index(item_id)
        if row == 0:
            raise NotFoundError(f"unknown item '{item_id}'")
        return row

    def item(self, item_id: str) -> ItemView:
        return self.catalogue.views[self._item_row(item_id)]

    def search(self, query: str, k: int = 10) -> list[Pick]:
        """Toys whose text is closest to ``query`` (MiniLM cosine), in stock."""
        vector = self.embedder.embed([query])[0]
        scores, rows = top_k(self.loaded.text_index, vector, max(CANDIDATES, k))
        base = np.full(len(self.catalogue.ids), -np.inf)
        base[rows] = scores
        rules = check_rules(self.catalogue, None, self.rates)
        return rank_items(self.catalogue, base, rows, None, k, "text matches the search", rules)

    # -- shoppers --------------------------------------------------------------------------
    def _shopper_row(self, shopper_id: str | None) -> int:
        if shopper_id is None:
            return 0
        row = self.data.vocabs["shoppers"].index(shopper_id)
        if row == 0:
            raise NotFoundError(f"unknown shopper '{shopper_id}'")
        return row

    def recommend(
        self,
        shopper_id: str | None = None,
        request: GuideRequest | None = None,
        k: int = 10,
        text: str | None = None,
    ) -> Recommendations:
        """Known shopper: the preference head over FAISS candidates; otherwise the request's
        text against the catalogue plus popularity. The request filters and re-scores both."""
        row = self._shopper_row(shopper_id)
        has_history = row > 0 and self._n_events(row) > 0
        rules = check_rules(self.catalogue, request, self.rates)
        relax = rules.to_relax()
        relaxed = relax[0] if relax else ()
        allowed = rules.fits(relaxed)
        if has_history and self.item_space is not None:
            base, candidates = self._preference_scores(row)
            source = "shoppers with similar recent toys chose it"
        else:
            base, candidates = self._text_scores(text or "", allowed)
            source = self._text_source(bool(text))
        if relaxed or allowed[candidates].sum() < k:  # the best of them may not be retrieved
            candidates = np.flatnonzero(allowed)  # base scores every row: rank them all
        picks = rank_items(self.catalogue, base, candidates, request, k, source, rules, relaxed)
        notes = rule_notes(self.catalogue, picks, relax, request, rules)
        if self.popularity_source is None:
            notes.append(NO_HISTORY_NOTE)
        return Recommendations(
            picks, shopper_id, request.to_dict() if request else None, notes=notes,
            relax=[list(r) for r in relax],
        )  # fmt: skip

    def _text_source(self, has_text: bool) -> str:
        """The first reason of a pick ranked without a shopper's history."""
        if self.popularity_source is None:
            return "close to the request" if has_text else "in the catalogue"
        return "popular and close to the request" if has_text else "popular in the shop"

    def _n_events(self, row: int) -> int:
        if self.data.sequences is None:  # a run without event tasks read no events
            return 0
        offsets = self.data.sequences.offsets
        return int(offsets[row + 1] - offsets[row])

    @torch.no_grad()
    def _preference_scores(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        shopper = self.shoppers.get(row)
        ranker = self.loaded.model_for("preference")
        logits = ranker.next_item_scores(shopper.vector, self.item_space)  # [1, N+1]
        log_probs = torch.log_softmax(logits, -1).numpy().astype(np.float64)
        base, paired = neighbour_candidates(self.loaded, shopper.events, log_probs, CANDIDATES)
        return base[0], np.union1d(shopper.retrieved, paired[0])

    def _text_scores(self, text: str, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Text closeness plus popularity of every row the request's rules allow (the rules
        and interests re-rank all of them; the others are never ranked, so never scored)."""
        n = len(self.catalogue.ids)
        if not text.strip():
            return self.popularity.copy(), np.arange(1, n)
        vector = self.embedder.embed([text])[0]
        rows = np.flatnonzero(allowed[: self.loaded.text_index.ntotal])
        rows = rows[rows > 0]  # row 0 is padding
        scores = row_scores(self.loaded.text_index, vector, rows)
        base = np.full(n, -np.inf)
        base[rows] = scores + POPULARITY_WEIGHT * self.popularity[rows] / (
            self.popularity.max() or 1.0
        )
        return base, rows[np.isfinite(scores)]

    def ask(
        self,
        text: str,
        dialogue: Dialogue | None = None,
        shopper_id: str | None = None,
        k: int = 10,
    ) -> tuple[Recommendations, Dialogue]:
        """One turn of the guide: parse (keeping earlier turns' slots), recommend, remember the
        prices shown so that "cheaper" has a reference."""
        dialogue = dialogue or Dialogue(semantic=self.semantic)
        request = dialogue.say(text)
        result = self.recommend(shopper_id, request, k, text=match_text(text, request))
        dialogue.show([p.item.price for p in result.picks if p.item.price is not None])
        return result, dialogue

    # -- merchants ---------------------------------------------------------------------------
    def _require(self, task: str) -> None:
        if task not in self.model.tasks:
            raise ConfigError(f"this model was trained without the '{task}' task")

    @torch.no_grad()
    def forecast(self, item_id: str, history_weeks: int = 26) -> Forecast:
        """P10/P50/P90 for the weeks after the store's last sales week."""
        self._require("sales")
        row = self._item_row(item_id)
        sales = self.data.of("sales")
        n_weeks = sales.weeks.n_weeks
        quantiles, means = sales_forecasts(self.loaded, np.array([row]))
        q, mean = quantiles[0], means[0]  # [H, 3] units, [H] expected units
        last = dt.date(1970, 1, 1) + dt.timedelta(days=int(sales.mondays[-1]))
        weeks = [(last + dt.timedelta(weeks=h + 1)).isoformat() for h in range(q.shape[0])]
        lo = max(0, n_weeks - history_weeks)
        past = [(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))).isoformat()
                for d in sales.mondays[lo:]]  # fmt: skip
        return Forecast(
            item_id, weeks, *(q[:, i].round(3).tolist() for i in range(3)),
            history_weeks=past,
            history_units=sales.units[row, lo:].astype(np.float64).round(3).tolist(),
            mean=mean.round(3).tolist(),
        )  # fmt: skip

    def plan_inventory(
        self, item_id: str, lead_time_weeks: int, service_level: float,
        stock_on_hand: float | None = None, on_order: float = 0.0, review_weeks: int = 1,
    ) -> InventoryPlan:  # fmt: skip
        """Reorder point and order quantity from the item's forecast quantiles; stock on hand
        defaults to the latest the store knows."""
        forecast = self.forecast(item_id)
        if stock_on_hand is None:
            stock_on_hand = self.item(item_id).stock_on_hand
            if stock_on_hand is None:
                raise ConfigError(f"no stock on hand is known for '{item_id}'; give stock_on_hand")
        return plan_inventory(
            item_id, np.array(forecast.p10), np.array(forecast.p50), np.array(forecast.p90),
            lead_time_weeks=lead_time_weeks, service_level=service_level,
            stock_on_hand=float(stock_on_hand), on_order=on_order, review_weeks=review_weeks,
        )  # fmt: skip

    @torch.no_grad()
    def evaluate_toy(
        self, title: str, description: str = "", brand: str | None = None,
        price: float | None = None, k_similar: int = 10,
    ) -> ToyEvaluation:  # fmt: skip
        """A toy not yet in the catalogue, from its text, brand and price alone."""
        self._require("attributes")
        text = f"{title}. {description}".strip(". ") if description else title
        vector = self.embedder.embed([text])  # [1, 384]
        words = " ".join(part for part in (title, brand, description) if part)
        new_toy = NewToy(vector, brand, words)
        tokens = new_toy_tokens(self.loaded, new_toy)
        out = self.loaded.task_outputs(
            "attributes",
            lambda m: m.attribute_outputs(encode_new_toy(self.loaded, new_toy, [price], m), tokens),
        )  # [1, D] each
        demand = new_toy_demand(self.loaded, new_toy, price) if "sales" in self.model.tasks else {}
        scores, rows = top_k(self.loaded.text_index, vector[0], max(k_similar, PRICING_SIMILAR))
        similar = [Pick(self.catalogue.views[r], round(float(s), 4), ["similar text"])
                   for s, r in zip(scores[:k_similar], rows[:k_similar], strict=True)]  # fmt: skip
        return ToyEvaluation(
            label_probabilities(out["age_band"], [b.name for b in AGE_BANDS]),
            label_probabilities(out["gender_target"], list(GENDER_TARGETS)),
            label_probabilities(out["functions"], list(FUNCTIONS), multilabel=True),
            demand, similar, price_percentile(price, [p.item.price for p in similar]),
            toy_pricing(self.loaded, self.catalogue.views, new_toy, price, scores, rows),
        )  # fmt: skip

    @torch.no_grad()
    def profile(self, shopper_id: str) -> ShopperProfile:
        self._require("profile")
        row = self._shopper_row(shopper_id)
        state = shopper_state(self.loaded, row)
        out = self.loaded.task_outputs("profile", lambda m: m.profile_outputs(state))
        age = label_probabilities(out["age_band"], [b.name for b in AGE_BANDS])
        gender = label_probabilities(out["gender"], list(CHILD_GENDERS))
        interests = label_probabilities(out["interests"], list(FUNCTIONS), multilabel=True)
        segment = f"{age[0].label} · {gender[0].label} · {interests[0].label}"
        return ShopperProfile(
            shopper_id, self._n_events(row), self._known(shopper_id), age, gender, interests,
            segment,
        )  # fmt: skip

    @torch.no_grad()
    def segments(self, top: int = 20) -> list[Segment]:
        """The shop's shoppers grouped by their predicted segment, largest first (computed
        once per loaded model: the model and the sequences it reads do not change)."""
        self._require("profile")
        if self._segments is None:
            self._segments = predicted_segments(self.loaded)
        return self._segments[:top]

    # -- the merchant's overview ---------------------------------------------------------------
    def catalogue_forecast(self) -> CatalogueForecast:
        """Every toy's forecast, computed on first use and kept (one model pass per toy)."""
        self._require("sales")
        with self._book_lock:  # two first requests at once compute it once
            if self._book is None:
                with torch.no_grad():
                    self._book = forecast_catalogue(self.loaded, self.catalogue)
            return self._book

    def overview(
        self, lead_time_weeks: int = 2, service_level: float = 0.95, limit: int = 20,
        review_weeks: int = 1,
    ) -> MerchantOverview:  # fmt: skip
        """At-risk toys, top sellers of the coming weeks, slow movers and shopper segments
        (reads the store: hold the store lock)."""
        segments, source = self._overview_segments(limit)
        return build_overview(
            self.catalogue_forecast(), lead_time_weeks=lead_time_weeks,
            service_level=service_level, review_weeks=review_weeks, limit=limit,
            segments=segments, segments_source=source,
        )  # fmt: skip

    def reorder_list(
        self, lead_time_weeks: int = 2, service_level: float = 0.95, review_weeks: int = 1
    ) -> list[OverviewRow]:
        """Every toy whose stock is below its reorder point, most urgent first."""
        return reorder_rows(self.catalogue_forecast(), lead_time_weeks=lead_time_weeks,
                            service_level=service_level, review_weeks=review_weeks)  # fmt: skip

    def find_toys(self, query: str, k: int = 10) -> list[ToyMatch]:
        """Toys by title or id words, out of stock too (the merchant's search)."""
        return find_by_title(self.catalogue_forecast(), query, k)

    def _overview_segments(self, top: int) -> tuple[list[Segment], str | None]:
        """The profile head's segments; without that task, shoppers by their stored region."""
        if "profile" in self.model.tasks:
            return self.segments(top), "profile"
        regions = region_segments(self.store, top)
        return regions, "region" if regions else None

    def _known(self, shopper_id: str) -> dict[str, Any]:
        rows = self.store.query("SELECT * FROM shoppers WHERE shopper_id = ?", [shopper_id])
        if not rows.height:
            return {}
        row = rows.row(0, named=True)
        return {k: (str(v) if isinstance(v, dt.date) else v) for k, v in row.items()
                if k != "shopper_id" and v is not None}  # fmt: skip

    def record_events(self, events: pl.DataFrame, source: str = "api") -> IngestReport:
        """Validate and store new events (the model learns from them at its next training)."""
        return self.store.ingest("events", events, source=source)

    def check_events(self, events: pl.DataFrame, source: str = "api") -> pl.DataFrame:
        """Validate new events as ``record_events`` would, storing nothing: the typed rows."""
        return self.store.check("events", events, source=source)
