"""The floor: a trivial Flask view under the same gunicorn settings (``gunicorn floor:app``)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def trivial():
    return "ok"
