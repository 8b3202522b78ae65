"""What the service needs to start: the model folder, the store, tokens and limits.

Tokens come from the arguments or, when those are not given, from ``TOYGUIDE_ADMIN_TOKEN`` and
``TOYGUIDE_MERCHANT_TOKEN``. An empty token counts as none: the routes it would open answer
401 saying that no token is configured, so a blank variable never opens them. The per-client
rate limit of the open routes comes likewise from ``TOYGUIDE_RATE_LIMIT`` (requests a second,
0 = off) and ``TOYGUIDE_RATE_BURST``; the currency rate table from ``TOYGUIDE_RATES`` (a TOML
file, see ``guide/currency.py``) unless given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from toyguide.errors import ConfigError

__all__ = [
    "ADMIN_TOKEN_ENV", "MERCHANT_TOKEN_ENV", "RATES_ENV", "RATE_BURST_ENV", "RATE_LIMIT_ENV",
    "Settings",
]  # fmt: skip

ADMIN_TOKEN_ENV = "TOYGUIDE_ADMIN_TOKEN"
MERCHANT_TOKEN_ENV = "TOYGUIDE_MERCHANT_TOKEN"
RATE_LIMIT_ENV = "TOYGUIDE_RATE_LIMIT"
RATE_BURST_ENV = "TOYGUIDE_RATE_BURST"
RATES_ENV = "TOYGUIDE_RATES"
_FROM_ENV = {"rate_limit": (RATE_LIMIT_ENV, float), "rate_burst": (RATE_BURST_ENV, int)}


@dataclass(frozen=True)
class Settings:
    model_dir: Path  # a run folder or its model/ folder
    store: Path  # the shop's DuckDB file
    admin_token: str | None = field(default=None, repr=False)
    merchant_token: str | None = field(default=None, repr=False)
    max_dialogues: int = 10_000  # guide dialogues kept in memory (least recently used go first)
    dialogue_ttl_s: float = 3600  # a dialogue untouched this long is forgotten
    host: str = "127.0.0.1"
    port: int = 8000
    # Torch and BLAS threads per inference: one request's tensors are small, so requests in
    # parallel use the cores better than threads inside one request (which thrash under load:
    # OpenBLAS's idle threads spin, and doubled a guide request's CPU at 32 connections).
    torch_threads: int = 1
    # Requests using the model at once in each worker; 0: the cores over the workers (at
    # least 1). Two workers with two slots each on two cores: guide p99 at 32 connections
    # 291 ms against 238 ms with one slot each (bench/README, six runs each).
    inference_slots: int = 0
    # known shoppers' vectors kept between requests (guide/shopper_cache.py; 0 = none)
    shopper_cache: int = 50_000
    # Open routes, per client address: ``rate_limit`` requests a second after a burst of
    # ``rate_burst`` (0 = no limit); the addresses of ``rate_clients`` clients are kept.
    rate_limit: float = 0.0
    rate_burst: int = 20
    rate_clients: int = 10_000
    # The currency rate table (TOML, guide/currency.py) budgets and prices are compared
    # through; None: the guide's dated defaults.
    rates: Path | None = None
    # Worker processes (``toyguide serve --workers``); past 1 each opens the store read-only,
    # spools events, shares dialogues and reloads through ``runtime_dir`` (service/workers.py).
    workers: int = 1
    reload_check_s: float = 1.0  # how often a worker looks for a reload made by another

    def limit_compute_threads(self) -> None:
        """Hold this process's torch and BLAS (numpy's OpenBLAS, FAISS's) thread pools to
        ``torch_threads`` each."""
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(self.torch_threads)
        threadpool_limits(limits=self.torch_threads)

    @property
    def runtime_dir(self) -> Path:
        """Where workers share dialogues and reloads: ``<store>.serve`` beside the store."""
        return self.store.with_name(self.store.name + ".serve")

    def to_json(self) -> str:
        """Every field as JSON (tokens included: hand it over in the environment, never on a
        command line)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The settings ``to_json`` wrote; ``ConfigError`` names what is wrong."""
        try:
            values = json.loads(text)
            return cls(**values)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"service settings JSON is not valid: {exc}") from None

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_dir", Path(self.model_dir))
        object.__setattr__(self, "store", Path(self.store))
        if self.rates is not None:
            object.__setattr__(self, "rates", Path(self.rates))
        for name in ("admin_token", "merchant_token"):  # blank = not configured
            value = getattr(self, name)
            object.__setattr__(self, name, value.strip() or None if value else None)
        if self.shopper_cache < 0:
            raise ConfigError(f"shopper_cache must be >= 0, got {self.shopper_cache}")
        if self.max_dialogues < 1:
            raise ConfigError(f"max_dialogues must be >= 1, got {self.max_dialogues}")
        if not self.dialogue_ttl_s > 0:
            raise ConfigError(f"dialogue_ttl_s must be > 0, got {self.dialogue_ttl_s}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.inference_slots < 0:
            raise ConfigError(f"inference_slots must be >= 0, got {self.inference_slots}")
        if self.inference_slots == 0:
            object.__setattr__(self, "inference_slots", max(1, usable_cores() // self.workers))
        if not self.reload_check_s > 0:
            raise ConfigError(f"reload_check_s must be > 0, got {self.reload_check_s}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be from 0 to 65535, got {self.port}")
        if not (0 <= self.rate_limit < float("inf")):
            raise ConfigError(f"rate_limit must be >= 0 requests a second, got {self.rate_limit}")
        if self.rate_burst < 1 or self.rate_clients < 1:
            raise ConfigError(
                f"rate_burst and rate_clients must be >= 1, got {self.rate_burst} and "
                f"{self.rate_clients}"
            )

    @classmethod
    def from_env(
        cls,
        model_dir: Path,
        store: Path,
        *,
        admin_token: str | None = None,
        merchant_token: str | None = None,
        environ: Mapping[str, str] | None = None,
        **limits: object,
    ) -> Settings:
        """Settings whose tokens and rate limit not given here are read from the environment."""
        env = os.environ if environ is None else environ
        for name, (variable, kind) in _FROM_ENV.items():
            if name not in limits and env.get(variable, "").strip():
                limits[name] = _number(variable, env[variable], kind)
        if limits.get("rates") is None and env.get(RATES_ENV, "").strip():
            limits["rates"] = Path(env[RATES_ENV].strip())
        return cls(
            model_dir,
            store,
            admin_token if admin_token is not None else env.get(ADMIN_TOKEN_ENV),
            merchant_token if merchant_token is not None else env.get(MERCHANT_TOKEN_ENV),
            **limits,  # type: ignore[arg-type]
        )


def _number(variable: str, text: str, kind: type[float] | type[int]) -> float | int:
    try:
        return kind(text.strip())
    except ValueError:
        what = "a number" if kind is float else "a whole number"
        raise ConfigError(f"{variable} must be {what}, got {text!r}") from None


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
