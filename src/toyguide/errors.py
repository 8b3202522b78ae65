"""One exception hierarchy for toyguide.

Every error a user can cause derives from :class:`ToyGuideError`; the CLI prints its message
and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataValidationError",
    "EvaluationError",
    "GuideRequestError",
    "ModelIntegrityError",
    "NonFiniteLossError",
    "NotFoundError",
    "Problem",
    "RegistryError",
    "StoreError",
    "TaskDefinitionError",
    "ToyGuideError",
]


class ToyGuideError(Exception):
    """Base class of every error toyguide raises on purpose."""


class ConfigError(ToyGuideError):
    """A configuration value is unknown, missing or of the wrong type."""


class CheckpointError(ToyGuideError):
    """A checkpoint or model folder is missing, truncated or fails its checksums."""


class EvaluationError(ToyGuideError, ValueError):
    """Inputs to a metric or a relatedness measure are malformed or the value is undefined."""


class GuideRequestError(ToyGuideError, ValueError):
    """A guide request (JSON) does not follow the schema; ``problems`` lists each field's fault."""

    def __init__(self, problems: list[str], what: str = "guide request") -> None:
        self.problems = problems
        super().__init__(f"invalid {what}: " + "; ".join(problems))


class NotFoundError(ToyGuideError, LookupError):
    """An item or shopper id the loaded model and store do not know."""


class ModelIntegrityError(ToyGuideError):
    """Model weights are not the published ones (their sha256 differs); they are not loaded."""


class NonFiniteLossError(ToyGuideError):
    """A task loss became NaN or infinite; training stopped and the last good checkpoint stays."""


class RegistryError(ToyGuideError, KeyError):
    """A registry name is unknown or registered twice."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(ToyGuideError):
    """The embedded store cannot be opened or is not a toyguide store."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and what was expected.

    ``line`` is 1-based: for CSV the header is line 1; for JSONL the first record is line 1;
    for Parquet and in-memory frames it is the 1-based row number. ``None`` means the whole
    file (empty file, missing column).
    """

    source: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = f" field '{self.field}':" if self.field else ""
        return f"{where}:{what} {self.reason}"


class DataValidationError(ToyGuideError):
    """An input file was rejected; nothing of it was stored.

    ``problems`` holds the first problems found (at most the report limit) and ``total`` how
    many there were in all.
    """

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        super().__init__(self.report())

    def report(self) -> str:
        lines = [str(p) for p in self.problems]
        shown = len(self.problems)
        head = f"rejected: {self.total} problem{'s' if self.total != 1 else ''}"
        if self.total > shown:
            head += f" (first {shown} shown)"
        return "\n".join([head + "; nothing was stored", *lines])


class TaskDefinitionError(ConfigError):
    """A task module that does not declare every part a task needs (spec, stream, head,
    evaluator); raised when the module is imported."""
