"""mkdocs hooks for segml's site (mkdocs.yml ``hooks:``).

- The project pages at the repository root (README, CHANGELOG, BENCHMARKS,
  RELIABILITY) join the site under ``project/``, and relative links between
  them and docs/ are rewritten to where the pages land, so the same Markdown
  reads right on the forge and on the site. A link to a repository file the
  site does not hold (a source file, a config) keeps its text without the link;
  a link to nothing at all is left as it is, and the strict build reports it.
- A guide added to docs/ but not to the nav of mkdocs.yml is appended to its
  "Guides" section, under the page's first heading, so no page is orphaned.
- A public package (a segml subpackage with ``__all__``) without its page in
  docs/api gets a generated one, appended to the "API reference" section.
- The docstrings follow numpydoc, whose cross-references are Sphinx roles
  (``:func:`segml.tiers.assign_tiers```, ``:meth:`fit```). Markdown renders them
  as ``:func:<code>...</code>``; the role is dropped and a full dotted
  ``segml.`` name links to that object's entry in the API reference (through
  mkdocs-autorefs, optional: a name it cannot place stays plain code).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT_PAGES = ("README.md", "CHANGELOG.md", "BENCHMARKS.md", "RELIABILITY.md")
PROJECT = "project"
API = "API reference"
UNLINKED = "segml-unlinked:"

_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")
_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>"
)


def _repo_root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _docs_dir(config: Any) -> str:
    root = _repo_root(config)
    return Path(config["docs_dir"]).resolve().relative_to(root).as_posix()


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def _title(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    return path.stem


def on_config(config: Any) -> Any:
    """Append the guides that the nav does not list to its Guides section."""
    nav = config["nav"] or []
    guides = next(
        (item["Guides"] for item in nav if isinstance(item, dict) and "Guides" in item),
        None,
    )
    if guides is None:
        return config
    listed = set(_nav_pages(nav))
    for path in sorted(Path(config["docs_dir"]).glob("*.md")):
        if path.name != "index.md" and path.name not in listed:
            guides.append({_title(path): path.name})
    api = next(
        (item[API] for item in nav if isinstance(item, dict) and API in item), None
    )
    if api is not None:
        for name in _undocumented_packages(config):
            api.append({f"segml.{name}": f"api/{name}.md"})
    return config


def _undocumented_packages(config: Any) -> list[str]:
    """segml subpackages with ``__all__`` that have no page in docs/api."""
    package = _repo_root(config) / "segml"
    api = Path(config["docs_dir"]) / "api"
    names = [
        init.parent.name
        for init in sorted(package.glob("*/__init__.py"))
        if "__all__" in init.read_text()
    ]
    return [name for name in names if not (api / f"{name}.md").exists()]


def on_files(files: Files, config: Any) -> Files:
    """Add the root project pages to the site under ``project/``."""
    root = _repo_root(config)
    for name in _undocumented_packages(config):
        page = f"::: segml.{name}\n    options:\n      heading_level: 1\n"
        files.append(File.generated(config, f"api/{name}.md", content=page))
    for name in ROOT_PAGES:
        if (root / name).is_file():
            files.append(
                File.generated(
                    config, f"{PROJECT}/{name}", abs_src_path=str(root / name)
                )
            )
    return files


def _source_path(src_uri: str, docs_dir: str) -> str:
    """Where a site page's Markdown sits in the repository."""
    if src_uri.startswith(f"{PROJECT}/") and src_uri.count("/") == 1:
        name = src_uri.split("/", 1)[1]
        if name in ROOT_PAGES:
            return name
    return f"{docs_dir}/{src_uri}"


def _site_path(repo_path: str, docs_dir: str) -> str | None:
    """The site page of a repository path, or None when it is not in the site."""
    if repo_path in ROOT_PAGES:
        return f"{PROJECT}/{repo_path}"
    if repo_path.startswith(f"{docs_dir}/"):
        return repo_path[len(docs_dir) + 1 :]
    return None


def on_page_markdown(markdown: str, page: Any, config: Any, **kwargs: Any) -> str:
    """Point relative links at where their targets land in the site."""
    docs_dir = _docs_dir(config)
    root = _repo_root(config)
    src_uri = page.file.src_uri
    here = posixpath.dirname(_source_path(src_uri, docs_dir))

    def relink(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join(here, target))
        site_path = _site_path(repo_path, docs_dir)
        if site_path is None:
            if not repo_path.startswith("..") and (root / repo_path).exists():
                return f"{match.group(1)}{UNLINKED}{match.group(4)}"
            return match.group(0)
        new = posixpath.relpath(site_path, posixpath.dirname(src_uri) or ".")
        return f"{match.group(1)}{new}{match.group(3) or ''}{match.group(4)}"

    markdown = _LINK.sub(relink, markdown)
    # [text](UNLINKED) -> text
    return re.sub(r"\[([^\]]*)\]\(" + re.escape(UNLINKED) + r"\)", r"\1", markdown)


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1) == "~", match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if short else target
    code = f"<code>{shown}</code>"
    if re.fullmatch(r"segml(\.\w+)+", target):
        return f'<autoref identifier="{target}" optional>{code}</autoref>'
    return code


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace the Sphinx roles in a rendered page (before autorefs links)."""
    return _ROLE.sub(_role, html)
