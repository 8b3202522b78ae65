"""One worker process of ``toyguide serve --workers N``: ``python -m
toyguide.service.worker_main --fd FD``, started by ``supervisor.Supervisor`` with the listening
socket FD inherited and its settings in ``$TOYGUIDE_SERVE_SETTINGS`` (``workers.py``)."""

from __future__ import annotations

import argparse

from toyguide.service.workers import run_worker

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one toyguide serve worker (internal)")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    run_worker(parser.parse_args().fd)
