"""The email templates: ``templates/email/`` at the top of the project, overridable file by file.

``PUBLISHER_TEMPLATES_DIR`` names a folder laid out like ``templates/email/``; a file
there replaces the shipped one of the same name (a newsroom can override one partial and keep
the rest). Edition ``evening`` uses ``evening_edition/`` where it exists, else ``morning_edition/``.

MJML and HTML templates are autoescaped; ``.txt`` templates (plain text, subject) are not, as
nothing there is interpreted as markup.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import jinja2

from publisher.errors import RenderError


def _shipped_dir() -> Path:
    """``templates/email/`` of the source tree (an editable install), else of the working
    directory (the Docker image keeps the project in /app)."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = root / "templates" / "email"
        if candidate.is_dir():
            return candidate
    raise RenderError("templates/email/ not found beside the package or in the working directory")


TEXT_WIDTH = 78


def wrap(value: str, width: int = TEXT_WIDTH, indent: str = "", subsequent: str = "") -> str:
    """Fold plain text at ``width`` columns; long words (URLs) are kept whole, never split."""
    return textwrap.fill(
        str(value),
        width=width,
        initial_indent=indent,
        subsequent_indent=subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )


@lru_cache(maxsize=8)
def email_templates(override_dir: str = "") -> jinja2.Environment:
    """One Jinja environment per override folder (compiled templates are cached inside it)."""
    loaders: list[jinja2.BaseLoader] = []
    if override_dir:
        loaders.append(jinja2.FileSystemLoader(override_dir))
    loaders.append(jinja2.FileSystemLoader(str(_shipped_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = wrap
    return env


def template_names(edition_name: str, file: str) -> list[str]:
    """Where to look for ``file`` of an edition, most specific first."""
    names = [f"{edition_name}_edition/{file}"]
    if edition_name != "morning":
        names.append(f"morning_edition/{file}")
    return names
