"""Real faults for the tests: a child process that writes under a file-size limit (the disk
"fills up" at a chosen size, with no privileges needed) or that is killed with SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The child ignores SIGXFSZ, so a write past the limit fails with EFBIG ("File too large")
# the way a full disk fails with ENOSPC, instead of killing the process.
_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def run_limited(code: str, limit_bytes: int, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose files cannot grow past ``limit_bytes``."""
    script = _LIMIT.format(limit=int(limit_bytes)) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
    )


def start(code: str) -> subprocess.Popen:
    """Start ``code`` in a fresh Python, to be killed while it works."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
