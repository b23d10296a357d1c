"""What a route reads off its request: the publisher ``App`` this web app serves (the composition
root's, put on the app's state by ``create_app``)."""

from __future__ import annotations

from fastapi import Request

from publisher.app import App


def publisher_app(request: Request) -> App:
    app: App = request.app.state.publisher
    return app
