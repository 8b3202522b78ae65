"""The HTTP service (FastAPI): ``create_app(settings, guide=None)`` and ``serve(settings)``.

The contract is docs/design/api-contract.md; the OpenAPI schema at ``/openapi.json`` documents
every route's input bounds and response.
"""

from toyguide.service.app import create_app, serve
from toyguide.service.settings import Settings

__all__ = ["Settings", "create_app", "serve"]
