"""MkDocs hook: the site's home page is the README, so the front door is written once.

The README links to ``docs/<page>.md``; on the site those pages sit beside the home page,
so the prefix is dropped. Registered in ``mkdocs.yml`` (``hooks:``).
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    text = README.read_text(encoding="utf-8")
    return re.sub(r"\]\(docs/", "](", text)
