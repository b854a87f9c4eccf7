"""The README's "Embedding" section as a host's files: its Python blocks are one ``app.py``,
its ``{# templates/... #}`` blocks are templates (used by tests/test_readme_embedding.py and
tests/test_deploy_guide.py)."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[
    README.index("## Embedding the panel in your CRM") : README.index("### Database tables")
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.S)


def write_readme_app(folder: Path) -> None:
    """The README's ``app.py`` and templates in ``folder``, with a host layout to extend."""
    (folder / "app.py").write_text("\n".join(blocks("python")))
    templates = folder / "templates"
    for source in blocks("jinja"):
        named = re.match(r"\{# (templates/\S+) #\}\n", source)
        if named:
            target = folder / named.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source)
    (templates / "layout.html").write_text(
        "<title>{% block title %}{% endblock %} - Donor CRM</title>"
        '<main data-testid="host-layout">{% block content %}{% endblock %}</main>'
    )
