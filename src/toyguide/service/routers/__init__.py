"""One router per resource; ``ROUTERS`` is the order the app includes them in."""

from toyguide.service.routers import (
    admin,
    events,
    forecast,
    guide,
    health,
    inventory,
    items,
    merchant,
    recommendations,
    shoppers,
)

ROUTERS = [
    health.router,
    recommendations.router,
    guide.router,
    items.router,
    events.router,
    forecast.router,
    inventory.router,
    merchant.router,
    shoppers.router,
    admin.router,
]

# The open routes' resources, which the per-client rate limit covers (with whatever lies under
# them, merchant routes such as /v1/items/evaluate included); health, admin and the pages are
# not limited, so that probes, reloads and the web page's assets keep working under a flood.
RATE_LIMITED = (
    "/v1/recommendations", "/v1/guide", "/v1/items", "/v1/shoppers", "/v1/segments", "/v1/events",
)  # fmt: skip

__all__ = ["RATE_LIMITED", "ROUTERS"]
