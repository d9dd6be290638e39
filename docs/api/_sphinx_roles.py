"""mkdocs hook: Sphinx roles in segml's docstrings become code and links.

The docstrings follow numpydoc, whose cross-references are Sphinx roles
(``:func:`segml.tiers.assign_tiers```, ``:meth:`fit```). Markdown renders them
as ``:func:<code>...</code>``; this hook drops the role and, for a full dotted
``segml.`` name, links the code to that object's entry in the API reference
(through mkdocs-autorefs, optional: a name it cannot place stays plain code).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>"
)


def _replace(match: re.Match[str]) -> str:
    short, target = match.group(1) == "~", match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if short else target
    code = f"<code>{shown}</code>"
    if re.fullmatch(r"segml(\.\w+)+", target):
        return f'<autoref identifier="{target}" optional>{code}</autoref>'
    return code


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace the roles in a rendered page (before autorefs resolves links)."""
    return _ROLE.sub(_replace, html)
