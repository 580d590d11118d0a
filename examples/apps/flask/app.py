"""A Flask app that webserv serves over WSGI (see webserv.conf): pages, a form and JSON
POST, a streamed response, and the request as the app sees it."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, jsonify, request

app = Flask(__name__, static_folder=None)  # webserv serves /static/ itself
items: list[str] = []


@app.get("/")
def index() -> str:
    return '<h1>Flask on webserv</h1><link rel="stylesheet" href="/static/style.css">'


@app.route("/items", methods=["GET", "POST"])
def items_view() -> Response | tuple[Response, int]:
    if request.method == "POST":
        data = request.get_json(silent=True) or request.form
        items.append(str(data.get("name", "")))
        return jsonify(id=len(items)), 201
    return jsonify(items)


@app.get("/count")
def count() -> Response:
    """A streamed response: each line is sent as the generator yields it."""
    upto = min(int(request.args.get("to", "5")), 100_000)

    def lines() -> Iterator[str]:
        for i in range(1, upto + 1):
            yield f"{i}\n"

    return Response(lines(), mimetype="text/plain")


@app.post("/size")
def size() -> Response:
    """Reads the request body in chunks, as an upload handler would."""
    total = 0
    while chunk := request.stream.read(65536):
        total += len(chunk)
    return jsonify(bytes=total)


@app.get("/whoami")
def whoami() -> Response:
    env = request.environ
    return jsonify(
        remote_addr=env["REMOTE_ADDR"],
        script_name=env["SCRIPT_NAME"],
        path_info=env["PATH_INFO"],
        url_scheme=env["wsgi.url_scheme"],
        url=request.url,
    )


@app.get("/fail")
def fail() -> str:
    raise RuntimeError("this route fails on purpose")
