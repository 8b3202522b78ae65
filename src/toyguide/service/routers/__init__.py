"""One router per resource; ``ROUTERS`` is the order the app includes them in."""

from toyguide.service.routers import (
    admin,
    events,
    forecast,
    guide,
    health,
    inventory,
    items,
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
    shoppers.router,
    admin.router,
]

__all__ = ["ROUTERS"]
