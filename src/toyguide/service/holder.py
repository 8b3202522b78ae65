"""The loaded guide behind the service, swapped atomically on reload.

Each request leases the current guide once, at its start, and returns it at its end. A reload
loads and warms the new guide completely while requests go on using the old one, then swaps
the reference under a lock; the old guide is closed when its last lease returns, so no request
ever sees a half-loaded or closed guide.

Concurrency inside one guide: model inference (torch, FAISS, NumPy) only reads and runs in
parallel; the MiniLM text model is called one request at a time (Hugging Face tokenizers are
not safe to share between threads); the DuckDB store connection is used only under the store
lock (``Services.store_lock``), one lock for every guide, since all of them open the same file.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toyguide.errors import ConfigError, StoreError, ToyGuideError

__all__ = [
    "GuideHolder",
    "NotReadyError",
    "SerialEmbedder",
    "freeze_served_objects",
    "load_guide",
    "return_freed_memory",
]

log = logging.getLogger("toyguide.service")


class NotReadyError(Exception):
    """No guide is loaded yet (it is loading, or its load failed)."""


class SerialEmbedder:
    """A text embedder that runs one call at a time; everything else is the wrapped one's."""

    def __init__(self, inner: Any, lock: threading.Lock) -> None:
        self.inner, self.lock = inner, lock

    def embed(self, texts: list[str]) -> Any:
        with self.lock:
            return self.inner.embed(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def load_guide(
    model_dir: Path,
    store_path: Path,
    rates: Path | None = None,
    *,
    read_only: bool = False,
    shopper_cache: int | None = None,
) -> Any:
    """``Guide.load`` made ready to serve: one shared, serialised MiniLM for search and the
    parser's fallback, loaded and warmed now rather than by the first shopper; ``rates`` a
    rate table TOML (``guide/currency.py``; None: the guide's dated defaults); ``read_only``
    opens the store so that other worker processes can open it too; ``shopper_cache``: known
    shoppers' vectors kept between requests (None: the guide's default; guide/shopper_cache.py)."""
    from toyguide.guide.currency import DEFAULT_RATES, load_rates
    from toyguide.guide.engine import Guide

    if not Path(store_path).is_file():  # Store.open would create an empty store there
        raise StoreError(f"{store_path}: no store there")
    try:
        table = load_rates(rates) if rates is not None else DEFAULT_RATES
        cache = {} if shopper_cache is None else {"shopper_cache": shopper_cache}
        guide = Guide.load(
            Path(model_dir), Path(store_path), rates=table, read_only=read_only, **cache
        )
    except OSError as exc:  # an unreadable path given to reload: the admin's input, not a bug
        raise ConfigError(f"cannot read model folder '{model_dir}': {exc}") from None
    try:
        inner = guide.embedder
        guide.embedder = SerialEmbedder(inner, threading.Lock())
        if guide.semantic is not None and guide.semantic.embedder in (None, inner):
            guide.semantic.embedder = guide.embedder  # one tokenizer, one call at a time
        guide.embedder.embed(["warm up"])
        if guide.semantic is not None:
            guide.semantic.match(["warm up"])
        guide.catalogue.warm()  # ~0.4 s of scans no shopper's first request should wait for
    except BaseException:
        guide.close()
        raise
    return guide


def return_freed_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system (glibc's
    ``malloc_trim``; elsewhere the collection alone). Each reload loads a new model beside the
    old one and frees the old one later, and the allocator kept those pages: over 19 reloads
    in 10 minutes (bench/soak.py) the workers grew +11 % and +17 % without the trim, -0.1 %
    and +10 % with it before each load, and +3.6 % and -1.4 % with it also as soon as the
    retired guide closes (its floor back at the one-model level after every reload).

    The collector's frozen objects (:func:`freeze_served_objects`) are let go first, so that
    the retired guide's cycles are collected too, and what survives is frozen again."""
    gc.unfreeze()
    freeze_served_objects()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def freeze_served_objects() -> None:
    """Move every object alive now (the loaded guides: ~335,000 on the 12,000-toy shop of
    bench/serve.py) out of the garbage collector's sweeps. A full collection walked all of
    them, 140-240 ms with the worker's request threads stopped, about every 20 s under load:
    the p99 of both routes. Requests' own objects are still collected; the frozen ones are
    let go by :func:`return_freed_memory` once a reload retires their guide. Garbage is
    collected first: frozen, it would stay until then."""
    gc.collect()
    gc.freeze()


@dataclass(eq=False)
class _Entry:
    guide: Any
    model_dir: Path
    owned: bool  # loaded by the holder, so closed by it; a guide passed in stays the caller's
    leases: int = 0
    retired: bool = False
    closed: bool = False


class GuideHolder:
    """The current guide, its leases and its replacement."""

    def __init__(
        self,
        loader: Callable[[Path], Any],
        model_dir: Path,
        store_lock: threading.Lock,
    ) -> None:
        self._loader, self.model_dir, self._store_lock = loader, Path(model_dir), store_lock
        self._lock = threading.Lock()  # guards _current and every entry's counters
        self._reload_lock = threading.Lock()  # one load at a time
        self._current: _Entry | None = None
        self._shut = False
        self.state = "loading"  # loading | ready | failed | stopped
        self.failure: str | None = None
        self.generation = 0  # how many guides have been installed

    # -- leases ----------------------------------------------------------------------------
    @contextmanager
    def lease(self) -> Iterator[Any]:
        """The current guide, kept open until the ``with`` block ends."""
        entry = self.acquire()
        try:
            yield entry.guide
        finally:
            if self.release(entry):
                self.close_retired(entry)

    def acquire(self) -> _Entry:
        """A lease on the current guide (``.guide``), to be given back with :meth:`release`;
        takes microseconds, so an event loop may call it."""
        with self._lock:
            entry = self._current
            if entry is None:
                raise NotReadyError(self._not_ready_message())
            entry.leases += 1
        return entry

    def release(self, entry: _Entry) -> bool:
        """Give a lease back; True when it was the last of a retired guide, which the caller
        then closes with :meth:`close_retired` (slow: off an event loop)."""
        with self._lock:
            entry.leases -= 1
            return self._should_close(entry)

    def close_retired(self, entry: _Entry) -> None:
        """Close the guide of a lease :meth:`release` said was its last."""
        self._close(entry)

    def _should_close(self, entry: _Entry) -> bool:
        """Under ``_lock``: true exactly once, for a retired owned guide with no leases."""
        if entry.retired and entry.owned and entry.leases == 0 and not entry.closed:
            entry.closed = True
            return True
        return False

    def _close(self, entry: _Entry) -> bool:
        """Close a retired guide; a failure is logged, never handed to the request that
        happened to return the last lease. True once closed and its memory handed back."""
        try:
            with self._store_lock:
                entry.guide.close()
        except Exception:
            log.exception("closing the guide of %s failed", entry.model_dir)
            return False
        log.info("closed the guide of %s", entry.model_dir)
        # the model's arrays are freed with the guide, and their pages handed back now rather
        # than at the next reload: until then a worker held two models' worth of memory
        entry.guide = None
        return_freed_memory()
        return True

    def _not_ready_message(self) -> str:
        if self.state == "failed":
            return f"the model failed to load: {self.failure}"
        if self.state == "stopped":
            return "the service is shutting down"
        return "the model is still loading; try again shortly"

    # -- installing ------------------------------------------------------------------------
    def install(self, guide: Any, model_dir: Path, *, owned: bool) -> None:
        """Make ``guide`` the current one; the old one closes when its last lease returns."""
        new = _Entry(guide, Path(model_dir), owned)
        with self._lock:
            if self._shut:
                new.retired = True
                old = new  # shut down meanwhile: the new guide is not served
            else:
                old, self._current = self._current, new
                self.model_dir, self.state, self.failure = new.model_dir, "ready", None
                self.generation += 1
            close = False
            if old is not None:
                old.retired = True
                close = self._should_close(old)
        # a closed old guide's trim froze the new one too; else (it closes later, or there
        # was none, or closing failed) the new one is frozen here
        if not (close and self._close(old)):  # type: ignore[arg-type]
            freeze_served_objects()

    def reload(self, model_dir: Path | None = None) -> dict[str, Any]:
        """Load ``model_dir`` (default: the folder now served), warm it, swap it in; returns
        its info. On failure the old guide stays and the error propagates."""
        with self._reload_lock:
            target = Path(model_dir) if model_dir is not None else self.model_dir
            return_freed_memory()  # what the guides retired by earlier reloads left behind
            guide = self._loader(target)
            self.install(guide, target, owned=True)
            log.info("reloaded the model from %s", target)
            return guide.info

    def start_loading(self) -> threading.Thread:
        """Load the configured model in a background thread (the server answers meanwhile:
        ``/health`` ok, ``/ready`` 503)."""

        def run() -> None:
            try:
                self.reload()
            except Exception as exc:  # reported by /ready and by every guide route
                with self._lock:
                    if self._current is None and not self._shut:  # no admin reload since
                        self.state, self.failure = "failed", str(exc)
                bug = None if isinstance(exc, ToyGuideError) else exc  # a traceback for bugs
                log.error("loading the model from %s failed: %s", self.model_dir, exc,
                          exc_info=bug)  # fmt: skip

        thread = threading.Thread(target=run, name="toyguide-load", daemon=True)
        thread.start()
        return thread

    def info(self) -> dict[str, Any] | None:
        with self._lock:
            return None if self._current is None else self._current.guide.info

    def shutdown(self) -> None:
        """Stop serving; the guides the holder loaded close once their leases return."""
        with self._lock:
            self._shut, self.state = True, "stopped"
            entry, self._current = self._current, None
            close = False
            if entry is not None:
                entry.retired = True
                close = self._should_close(entry)
        if close:
            self._close(entry)  # type: ignore[arg-type]
