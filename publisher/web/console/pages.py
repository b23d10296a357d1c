"""The console's HTML, rendered from ``templates/web/console/`` with autoescape on.

``render`` gives every page what its layout (``console/base.html``) needs: who is logged in, the
CSRF token of their session for every form, the navigation (People for admins only), the site's
stylesheet and the console's own, and ``may(permission)`` to show only the buttons the user's role
allows (the routes check again: a hidden button is a courtesy, not a defence). Console pages run
only scripts served by this site (CSP ``script-src 'self'``) and may frame this site's own
previews (``frame-src 'self'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from publisher.accounts.principal import Principal
from publisher.accounts.roles import Permission
from publisher.web.console.auth import csrf_token
from publisher.web.guard import CONSOLE_CSP
from publisher.web.pages import STYLESHEET, asset_url, web_templates

CONSOLE_CSS = "console/console.css"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission


NAV = (
    NavItem("Today", "/console/", Permission.VIEW),
    NavItem("Editions", "/console/editions", Permission.VIEW),
    NavItem("Schedules", "/console/schedules", Permission.VIEW),
    NavItem("Subscribers", "/console/subscribers", Permission.VIEW),
    NavItem("Articles", "/console/articles", Permission.VIEW),
    NavItem("People", "/console/people", Permission.ADMIN),
    NavItem("Audit", "/console/audit", Permission.VIEW),
)


def _current(path: str, item: NavItem) -> bool:
    if item.href == "/console/":
        return path in ("/console", "/console/")
    return path == item.href or path.startswith(item.href + "/")


def page(
    request: Request,
    template_name: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page for ``principal`` (None: the logged-out pages, login and set-password)."""
    app = request.app.state.publisher
    settings = app.settings
    name = template_name if template_name.startswith("console/") else f"console/{template_name}"
    session = getattr(request.state, "console_session", None)
    token = csrf_token(app.signing_key, session.id) if principal is not None and session is not None else ""
    nav = [
        {"label": item.label, "href": item.href, "current": _current(request.url.path, item)}
        for item in NAV
        if principal is not None and principal.may(item.permission)
    ]
    context.setdefault("csrf_token", token)
    html = (
        web_templates(settings.templates_dir)
        .get_template(f"web/{name}")
        .render(
            site_title=settings.site_title,
            language=settings.language,
            stylesheet_url=asset_url(settings, STYLESHEET),
            console_css_url=asset_url(settings, CONSOLE_CSS),
            principal=principal,
            nav=nav,
            may=(lambda permission: principal is not None and principal.may(Permission(permission))),
            **context,
        )
    )
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": CONSOLE_CSP}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def render(request: Request, template_name: str, principal: Principal, **context: Any) -> HTMLResponse:
    """A page of the logged-in console (``template_name`` under ``templates/web/console/``)."""
    return page(request, template_name, principal, **context)


def message(request: Request, principal: Principal | None, heading: str, text: str, *,
            status_code: int = 200, link: tuple[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    """A console page that only says something (and may offer one link: (label, href))."""
    return page(request, "message.html", principal, status_code=status_code, heading=heading, text=text,
                link=link)  # fmt: skip
