"""The annotation web server: a JSON API and two static pages, no front-end build step.

| route                   | who        | what                                                       |
|-------------------------|------------|------------------------------------------------------------|
| `GET /`                 | anyone     | the annotation page (static; data comes from the API)      |
| `GET /admin`            | anyone     | the admin page (static; needs the admin token to show data) |
| `GET /api/me`           | annotator  | name and own progress                                      |
| `GET /api/next`         | annotator  | the current item, responses in this annotator's order      |
| `POST /api/submit`      | annotator  | an answer; acknowledged only once it is on disk            |
| `GET /api/admin/report` | admin      | progress, agreement, per-annotator quality and flags       |
| `GET /api/health`       | anyone     | liveness                                                   |

Security: every API call carries `Authorization: Bearer TOKEN` (401 otherwise); an annotator can
read only their current item and their own counts; gold answers and other people's labels are never
sent. Request bodies are capped (413) and validated field by field (422). Model outputs are untrusted:
the pages insert them with `textContent` only, and a strict Content-Security-Policy forbids inline
scripts, so a `<script>` in a response is shown as text and never runs.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from .store import Conflict, SessionError, Store

MAX_BODY = 16 * 1024  # bytes; a rationale of 2000 characters fits many times over
STATIC = {"app.js": "text/javascript", "admin.js": "text/javascript", "style.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Submission(BaseModel):
    """One answer. `answer`: 1 / 2 / tie (compare), 1-10 (rate), yes / no (harmless)."""

    model_config = ConfigDict(extra="forbid")
    assignment: str = Field(min_length=1, max_length=64)
    answer: Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "tie", "yes", "no"]
    confidence: int | None = Field(default=None, ge=1, le=3)
    rationale: str = Field(default="", max_length=10_000)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, with or without a Content-Length: the
    body is read (at most `limit` bytes of it) before the app sees the request, then replayed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send)
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._refuse(send)
            more = msg.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect as usual
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"detail":"request body too large"}'})


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def _unauthorized(what: str = "a valid token") -> HTTPException:
    return HTTPException(
        401, f"this needs {what} (Authorization: Bearer TOKEN)", headers={"WWW-Authenticate": "Bearer"}
    )


def create_app(store: Store) -> FastAPI:
    """The app for one session. Handlers are plain `def`s: they run in the thread pool while the
    store serialises writes, so a slow fsync never blocks the event loop."""
    app = FastAPI(title="rlaif annotate", docs_url=None, redoc_url=None, openapi_url=None)
    static = resources.files("rlaif.annotate") / "static"

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def annotator(request: Request) -> dict:
        who = store.authenticate(_bearer(request))
        if who is None:
            raise _unauthorized()
        return who

    def admin(request: Request) -> None:
        if not store.is_admin(_bearer(request)):
            raise _unauthorized("the admin token")

    def page(name: str) -> Response:
        return Response((static / name).read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return page("index.html")

    @app.get("/admin", include_in_schema=False)
    def admin_page() -> Response:
        return page("admin.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "not found")
        return Response((static / name).read_bytes(), media_type=STATIC[name] + "; charset=utf-8")

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True}

    @app.get("/api/me")
    def me(who: dict = Depends(annotator)) -> dict:
        return {
            "name": who["name"],
            "task": store.settings.task,
            "max_rationale": store.settings.max_rationale,
        } | store.progress(who)

    @app.get("/api/next")
    def next_item(who: dict = Depends(annotator)) -> dict:
        view = store.next_item(who)
        return {"item": view, "progress": store.progress(who)}

    @app.post("/api/submit")
    def submit(body: Submission, who: dict = Depends(annotator)) -> JSONResponse:
        if len(body.rationale) > store.settings.max_rationale:
            raise HTTPException(422, f"rationale longer than {store.settings.max_rationale} characters")
        try:
            result = store.submit(who, body.assignment, body.answer, body.confidence, body.rationale.strip())
        except Conflict as e:
            raise HTTPException(409, str(e)) from None
        except SessionError as e:
            raise HTTPException(422, str(e)) from None
        return JSONResponse(result)

    @app.get("/api/admin/report", dependencies=[Depends(admin)])
    def report() -> dict:
        return store.report()

    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app


def serve(store: Store, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    import uvicorn

    uvicorn.run(create_app(store), host=host, port=port, log_level=log_level)
