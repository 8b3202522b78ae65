"""The web pages: the shopper guide at ``/``, the merchant dashboard at ``/merchant``, and their
static files under ``/static/`` (plain ES modules and CSS shipped in the package; plotly.js is
served from the installed plotly package, never copied into the repo and never from a CDN).

The pages only call the JSON API of ``docs/design/api-contract.md``; they hold no logic of
their own beyond showing its answers.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "TEMPLATES_DIR", "plotly_js_path", "router"]

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Our files are small and not fingerprinted: the browser revalidates (a cheap 304 by ETag).
# plotly.js is 4.8 MB and changes only with the installed package, whose version is in its URL.
OWN_CACHE = "no-cache"
PLOTLY_CACHE = "public, max-age=604800, immutable"
# Everything comes from this origin; plotly injects <style> elements, hence 'unsafe-inline'
# for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def plotly_js_path() -> Path:
    """plotly.js as bundled in the installed ``plotly`` Python package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():  # a broken plotly install; the dashboard cannot draw without it
        raise FileNotFoundError(f"plotly.min.js is not in the installed plotly package: {path}")
    return path


@cache
def _plotly_version() -> str:
    import plotly

    return plotly.__version__


@lru_cache(maxsize=64)
def _etag(path: Path, mtime_ns: int, size: int) -> str:
    """A strong ETag from the file's bytes (read once per version of the file)."""
    return '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:32] + '"'


def _file_response(request: Request, path: Path, media_type: str, cache_control: str) -> Response:
    stat = path.stat()
    etag = _etag(path, stat.st_mtime_ns, stat.st_size)
    headers = {
        "Cache-Control": cache_control,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers, stat_result=stat)


def _not_found(name: str) -> HTTPException:
    return HTTPException(404, f"no static file '{name}'")  # the app's handler shapes the body


def _page(request: Request, name: str, title: str) -> HTMLResponse:
    plotly_url = f"/static/plotly.min.js?v={_plotly_version()}"
    context = {"title": title, "active": name, "plotly_url": plotly_url}
    response = templates.TemplateResponse(request, f"{name}.html", context)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/", response_class=HTMLResponse)
def guide_page(request: Request) -> HTMLResponse:
    """The shopper's guide: a free-text request, its parsed needs as chips, and the picks."""
    return _page(request, "guide", "Toy guide")


@router.get("/merchant", response_class=HTMLResponse)
def merchant_page(request: Request) -> HTMLResponse:
    """The merchant dashboard: forecast, inventory plan, new-toy evaluator, shopper segments."""
    return _page(request, "merchant", "Merchant dashboard")


@router.api_route("/static/plotly.min.js", methods=["GET", "HEAD"])
def plotly_js(request: Request) -> Response:
    return _file_response(request, plotly_js_path(), CONTENT_TYPES[".js"], PLOTLY_CACHE)


@router.api_route("/static/{name:path}", methods=["GET", "HEAD"])
def static_file(request: Request, name: str) -> Response:
    """A file directly in ``static/``: no sub-folders, no dot-files, known types only."""
    suffix = Path(name).suffix
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in CONTENT_TYPES:
        raise _not_found(name)
    path = STATIC_DIR / name
    # The checks above leave no way out of STATIC_DIR; resolving guards against symlinks too.
    if not path.is_file() or path.resolve().parent != STATIC_DIR:
        raise _not_found(name)
    return _file_response(request, path, CONTENT_TYPES[suffix], OWN_CACHE)
