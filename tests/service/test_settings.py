"""Settings: tokens from arguments or the environment, blank tokens unset, limits checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from toyguide.errors import ConfigError
from toyguide.service import Settings
from toyguide.service.settings import (
    ADMIN_TOKEN_ENV,
    MERCHANT_TOKEN_ENV,
    RATE_BURST_ENV,
    RATE_LIMIT_ENV,
    RATES_ENV,
)


def test_tokens_come_from_the_environment_unless_given() -> None:
    env = {ADMIN_TOKEN_ENV: "a-env", MERCHANT_TOKEN_ENV: "m-env"}
    s = Settings.from_env(Path("m"), Path("s.duckdb"), environ=env)
    assert (s.admin_token, s.merchant_token) == ("a-env", "m-env")
    s = Settings.from_env("m", "s.duckdb", admin_token="a-arg", environ=env, port=9000)
    assert (s.admin_token, s.merchant_token, s.port) == ("a-arg", "m-env", 9000)
    assert isinstance(s.model_dir, Path) and s.max_dialogues == 10_000


def test_blank_tokens_are_unset_and_tokens_never_print() -> None:
    s = Settings("m", "s", admin_token="  ", merchant_token="")
    assert s.admin_token is None and s.merchant_token is None
    assert "secret" not in repr(Settings("m", "s", admin_token="secret"))


def test_the_rate_limit_comes_from_the_environment_unless_given() -> None:
    assert Settings("m", "s").rate_limit == 0  # off unless configured
    env = {RATE_LIMIT_ENV: " 2.5 ", RATE_BURST_ENV: "40"}
    s = Settings.from_env(Path("m"), Path("s"), environ=env)
    assert (s.rate_limit, s.rate_burst) == (2.5, 40)
    s = Settings.from_env(Path("m"), Path("s"), environ=env, rate_limit=0.0)
    assert (s.rate_limit, s.rate_burst) == (0.0, 40)
    assert Settings.from_env(Path("m"), Path("s"), environ={RATE_LIMIT_ENV: ""}).rate_limit == 0
    for bad in ({RATE_LIMIT_ENV: "fast"}, {RATE_BURST_ENV: "2.5"}, {RATE_LIMIT_ENV: "-1"}):
        with pytest.raises(ConfigError, match=r"TOYGUIDE_RATE|rate_limit"):
            Settings.from_env(Path("m"), Path("s"), environ=bad)


@pytest.mark.parametrize(
    "bad",
    [{"max_dialogues": 0}, {"dialogue_ttl_s": 0}, {"port": 70000}, {"port": -1},
     {"rate_limit": -1}, {"rate_limit": float("nan")}, {"rate_limit": float("inf")},
     {"rate_burst": 0}, {"rate_clients": 0}, {"inference_slots": -1}],
)  # fmt: skip
def test_bad_limits_are_refused(bad) -> None:
    with pytest.raises(ConfigError):
        Settings("m", "s", **bad)


def test_the_currency_rate_table_comes_from_the_environment_unless_given() -> None:
    assert Settings("m", "s").rates is None  # the guide's dated defaults
    s = Settings.from_env(Path("m"), Path("s"), environ={RATES_ENV: " rates.toml "})
    assert s.rates == Path("rates.toml")
    s = Settings.from_env(Path("m"), Path("s"), environ={RATES_ENV: "env.toml"}, rates="arg.toml")
    assert s.rates == Path("arg.toml")


def test_settings_reach_workers_as_json_and_back() -> None:
    s = Settings("run", "shop.duckdb", admin_token="a", rates=Path("r.toml"), workers=3,
                 rate_limit=2.5, reload_check_s=0.5)  # fmt: skip
    back = Settings.from_json(s.to_json())
    assert back == s and back.admin_token == "a" and back.rates == Path("r.toml")
    assert s.runtime_dir == Path("shop.duckdb.serve")
    with pytest.raises(ConfigError, match="service settings JSON is not valid"):
        Settings.from_json('{"model_dir": "run", "store": "s", "threads": 2}')
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        Settings("run", "s", workers=0)


def test_inference_slots_default_to_the_cores_over_the_workers(monkeypatch) -> None:
    from toyguide.service import settings as settings_module

    monkeypatch.setattr(settings_module, "usable_cores", lambda: 4)
    assert Settings("m", "s").inference_slots == 4
    assert Settings("m", "s", workers=2).inference_slots == 2
    assert Settings("m", "s", workers=3).inference_slots == 1  # never 0
    assert Settings("m", "s", workers=8).inference_slots == 1
    assert Settings("m", "s", workers=2, inference_slots=3).inference_slots == 3  # as given
    resolved = Settings("m", "s", workers=2)
    assert Settings.from_json(resolved.to_json()).inference_slots == 2  # workers get the number
