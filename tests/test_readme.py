"""The README's and docs' examples run, in the order they are written; docs tables match results/.

How the harness works (and how to write a page it can test):

- **Blocks.** Every fenced code block marked ```bash (or sh/shell) or ```python in
  ``README.md``, then in the pages of ``docs/`` in the order of ``mkdocs.yml``'s ``nav``
  (:func:`doc_pages`), is run, in the order of the files: bash blocks with ``bash -e -o pipefail``,
  python blocks each in a fresh ``python`` process (a block must import what it uses).
  Other blocks (```toml, bare fences) are not run.
- **Not run.** An HTML comment on the line before a block's fence (blank lines between
  allowed) keeps it out, with the reason printed in the test's report::

      <!-- readme-test: skip (creates a virtual environment and installs packages) -->

  Use it for set-up commands (venv, pip, downloads) and anything that needs the network.
  A few single commands are also left out wherever they appear (:data:`NOT_RUN`): each is
  replaced by an ``echo`` saying so.
- **Small settings.** Each block's text first goes through :data:`SUBSTITUTIONS` (10 runs
  become 1, 10 folds 3, ``--methods all`` two cheap methods, the JAFFE path the test's
  JAFFE). Then every ``fer-bench run`` command and ``fer_bench.run(...)`` call that leaves
  ``runs``, ``folds`` or ``methods`` at its default gets the same small value spelled out
  (:data:`CLI_DEFAULTS`, :data:`PY_DEFAULTS`), so that two examples that agree at full size
  (one relying on the default of 10 runs, one writing ``runs=10``) still agree, and two that
  disagree (``--runs 2`` then ``runs=10``) still disagree.
- **Where.** In a temporary copy of the repository's tracked files (the working tree's
  versions), with this interpreter's ``bin`` first on ``PATH`` and ``.venv`` linked to this
  virtual environment, so nothing tracked is rewritten and ``fer-bench`` is the code under
  test. The feature cache is the test session's.
- **JAFFE.** ``../shared/datasets/jaffe`` becomes the test's JAFFE copy
  (``$FER_BENCH_DATA_JAFFE``, else ``../shared/datasets/jaffe`` beside the repository); when
  there is none, a stand-in in JAFFE's layout (``KA.AN1.1.tiff``: 10 people x 7 expressions x
  3 images, drawn by the built-in synthetic generator at 64 x 64) takes its place, so the
  examples run on a bare clone too.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import JAFFE, REPO

#: Two cheap methods standing for ``all`` (every method would take many minutes).
CHEAP_METHODS = ("pca-svm", "hog-svm")

#: (pattern, replacement, why): applied in order to the text of every block that is run.
SUBSTITUTIONS: list[tuple[str, str, str]] = [
    (r"--runs[ =]10\b", "--runs 1", "10 runs of the protocol -> 1"),
    (r"\bruns=10\b", "runs=1", "the same in Python"),
    (r"--folds[ =]10\b", "--folds 3", "10 folds -> 3"),
    (r"\bfolds=10\b", "folds=3", "the same in Python"),
    (r"--methods[ =]all\b", "--methods " + ",".join(CHEAP_METHODS), "every method -> two cheap ones"),
    (r"""\bmethods=(["'])all\1""", f"methods={list(CHEAP_METHODS)!r}", "the same in Python"),
    (r"\.\./shared/datasets/jaffe\b", "{jaffe}", "the test's JAFFE copy, or a stand-in in JAFFE's layout"),
]

#: Defaults of ``fer-bench run`` made explicit (small) when a command leaves them out.
CLI_DEFAULTS: dict[str, str] = {"--runs": "1", "--folds": "3", "--methods": ",".join(CHEAP_METHODS)}
#: Defaults of ``fer_bench.run(...)`` made explicit (small) when a call leaves them out.
PY_DEFAULTS: dict[str, str] = {"runs": "1", "folds": "3", "methods": repr(list(CHEAP_METHODS))}

#: (pattern of one shell command, why): replaced by an ``echo`` wherever it appears.
NOT_RUN: list[tuple[str, str]] = [
    (r"(?:\S*/)?fer-bench\s+check\s+--reference\b(?![^&;|#\n]*--results)[^&;|#\n]*",
     "runs the full reference benchmarks (minutes); tests/test_gate.py tests the gate on tiny references"),
]

_FENCE = re.compile(r"^```\s*(?P<lang>[\w+-]*)\s*$")
_SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>.*)\)\s*-->")
_LANGS = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
_CLI_RUN = re.compile(r"(?P<cmd>(?:\S*/)?fer-bench\s+run)\b(?P<args>[^&;|#\n]*)")


@dataclass
class Block:
    """One fenced code block of the README or of a docs page."""

    lang: str  #: "bash" or "python"
    code: str
    line: int  #: line number of the opening fence (1-based)
    skip: str | None = None  #: the reason given by a ``readme-test: skip`` comment
    page: str = "README.md"  #: the file it is in, relative to the repository


def doc_pages() -> list[str]:
    """``README.md``, then the pages of ``mkdocs.yml``'s ``nav`` in order (``docs/…``; the home
    page, ``index.md``, is the README itself: ``docs/hooks.py``)."""
    nav = re.findall(r"^\s+-\s+[^:\n]+:\s+(\S+\.md)\s*$", (REPO / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    return ["README.md"] + [f"docs/{page}" for page in nav if page != "index.md"]


def readme_blocks(text: str, page: str = "README.md") -> list[Block]:
    """The bash and python blocks of a Markdown text (the file ``page``), in order, with their skip comments."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        lang = _LANGS.get(match["lang"].lower())
        if lang is None:
            continue
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        skip = _SKIP.search(lines[j]) if j >= 0 else None
        blocks.append(Block(lang, "\n".join(body) + "\n", start + 1, skip["reason"].strip() if skip else None, page))
    return blocks


def small_settings(block: Block, jaffe: Path | str) -> str:
    """The block's code with :data:`SUBSTITUTIONS`, :data:`NOT_RUN` and the defaults made explicit."""
    code = block.code
    for pattern, replacement, _ in SUBSTITUTIONS:
        code = re.sub(pattern, lambda _m, r=replacement: r.replace("{jaffe}", str(jaffe)), code)
    if block.lang == "bash":
        code = code.replace("\\\n", " ")  # join continued lines
        for pattern, why in NOT_RUN:
            code = re.sub(pattern, lambda m, w=why: f"echo 'readme-test: not run: {m[0].strip()} ({w})'"
                          + m[0][len(m[0].rstrip()):], code)

        def fill(match: re.Match) -> str:
            args = match["args"]
            extra = [f"{k} {v}" for k, v in CLI_DEFAULTS.items() if not re.search(rf"(^|\s){k}([ =]|$)", args)]
            return match["cmd"] + "".join(f" {e}" for e in extra) + args

        return _CLI_RUN.sub(fill, code)
    return _fill_python_defaults(code)


def _fill_python_defaults(code: str) -> str:
    """Add :data:`PY_DEFAULTS` to every ``fer_bench.run(...)`` call that leaves them out."""
    tree = ast.parse(code)
    inserts = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "fer_bench"):
            continue
        given = {kw.arg for kw in node.keywords} | ({"methods"} if node.args else set())
        missing = [f"{k}={v}" for k, v in PY_DEFAULTS.items() if k not in given]
        if missing:  # appended before the closing parenthesis
            inserts.append((node.end_lineno, node.end_col_offset - 1, ", ".join(missing), bool(node.args or node.keywords)))
    lines = code.splitlines(keepends=True)
    for lineno, col, text, has_args in sorted(inserts, reverse=True):
        line = lines[lineno - 1]
        assert line[col] == ")", f"expected ')' closing fer_bench.run(...) in {line!r}"
        before = line[:col].rstrip()
        sep = ", " if has_args and not before.endswith(",") else ""
        lines[lineno - 1] = before + sep + text + line[col:]
    return "".join(lines)


def _copy_tracked_files(dest: Path) -> dict[str, str]:
    """Copy the repository's tracked files (working-tree versions) to ``dest``; their SHA-256 by path."""
    try:
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True)
        names = [n for n in listed.stdout.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the README test copies the repository's tracked files: needs git and a git checkout")
    hashes = {}
    for name in names:
        src = REPO / name
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        hashes[name] = hashlib.sha256(src.read_bytes()).hexdigest()
    if sys.prefix != sys.base_prefix:  # a virtual environment: `.venv/bin/...` in a block means this one
        (dest / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return hashes


def make_jaffe_stand_in(root: Path) -> Path:
    """A folder in JAFFE's layout (``KA.AN1.1.tiff``), 10 people x 7 expressions x 3 images of 64 x 64.

    The faces come from the built-in synthetic generator; only the names follow JAFFE
    (Lyons et al. 1998: person initials, expression code and repeat, image number).
    """
    from PIL import Image

    from fer_bench.datasets.synthetic import make_synthetic

    people = ("KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM")
    codes = {"anger": "AN", "disgust": "DI", "fear": "FE", "happiness": "HA", "neutral": "NE", "sadness": "SA",
             "surprise": "SU"}
    images, labels, subjects = make_synthetic(n_subjects=10, images_per_expression=3, size=64, seed=0)
    root.mkdir(parents=True, exist_ok=True)
    for k, (image, label, subject) in enumerate(zip(images, labels, subjects)):
        person = people[int(subject[1:]) - 1]
        Image.fromarray(image).save(root / f"{person}.{codes[label]}{k % 3 + 1}.{k + 1}.tiff")
    return root


@dataclass
class Outcome:
    block: Block
    code: str | None  #: what was run (None: skipped)
    returncode: int | None
    output: str


def run_blocks(blocks: list[Block], workdir: Path, jaffe: Path, env: dict[str, str]) -> list[Outcome]:
    """Run every block not skipped, in order, in ``workdir``; return each one's outcome."""
    outcomes = []
    for block in blocks:
        if block.skip:
            outcomes.append(Outcome(block, None, None, f"skipped: {block.skip}"))
            continue
        code = small_settings(block, jaffe)
        argv = ["bash", "-e", "-o", "pipefail", "-c", code] if block.lang == "bash" else [sys.executable, "-c", code]
        proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=1200)
        outcomes.append(Outcome(block, code, proc.returncode, proc.stdout + proc.stderr))
    return outcomes


def _environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""), MPLBACKEND="Agg",
               FER_BENCH_CACHE=str(cache), PYTHONHASHSEED="0")
    return env


def _describe(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        if o.code is None:
            lines.append(f"{o.block.page}:{o.block.line} ({o.block.lang}) {o.output}")
            continue
        status = "ok" if o.returncode == 0 else f"FAILED (exit {o.returncode})"
        lines.append(f"{o.block.page}:{o.block.line} ({o.block.lang}) {status}")
        if o.returncode != 0:
            lines.append("  ran:\n    " + o.code.strip().replace("\n", "\n    "))
            lines.append("  output (last 25 lines):\n    " + "\n    ".join(o.output.strip().splitlines()[-25:]))
    return "\n".join(lines)


# -- the harness itself (fast) ------------------------------------------------------------------

_FAKE = """# Title

```bash
fer-bench run --methods all
```

<!-- readme-test: skip (creates a virtual environment) -->

```bash
python3 -m venv .venv
```

```toml
[x]
```

```python
import fer_bench
res = fer_bench.run(methods=["pca-svm"], dataset="jaffe:../shared/datasets/jaffe", runs=10, out="r")
fer_bench.run("all")
```

```sh
fer-bench run --runs 2 --folds 5 --dataset jaffe:../shared/datasets/jaffe && fer-bench check --reference r/*.json
fer-bench check --reference r.json --results r
```
"""


def test_harness_reads_blocks_and_skip_comments():
    blocks = readme_blocks(_FAKE)
    assert [(b.lang, b.line, b.skip) for b in blocks] == [
        ("bash", 3, None), ("bash", 9, "creates a virtual environment"), ("python", 17, None), ("bash", 23, None)]


def test_harness_substitutes_small_settings_and_makes_defaults_explicit():
    first, _, python, shell = readme_blocks(_FAKE)
    assert small_settings(first, "/j").split() == [
        "fer-bench", "run", "--runs", "1", "--folds", "3", "--methods", "pca-svm,hog-svm"]
    code = small_settings(python, "/j")
    assert 'fer_bench.run(methods=["pca-svm"], dataset="jaffe:/j", runs=1, out="r", folds=3)' in code
    assert 'fer_bench.run("all", runs=1, folds=3)' in code  # a positional methods argument is kept
    code = small_settings(shell, "/j")
    assert small_settings(Block("bash", "fer-bench check --reference a.json   # the gate\n", 1), "/j").endswith(
        "(runs the full reference benchmarks (minutes); tests/test_gate.py tests the gate on tiny references)'   "
        "# the gate\n")
    assert "fer-bench run --methods pca-svm,hog-svm --runs 2 --folds 5 --dataset jaffe:/j" in code  # 2 and 5 kept
    assert "echo 'readme-test: not run: fer-bench check --reference r/*.json (runs the full reference" in code
    assert "fer-bench check --reference r.json --results r" in code  # a check of existing results runs


@pytest.mark.slow
def test_harness_exposes_examples_that_clash(tmp_path, tiny_manifest):
    """Two examples writing one folder with different runs: the second fails, and the harness says so."""
    text = (f"```bash\nfer-bench run --methods pca-svm --dataset manifest:{tiny_manifest} --runs 2 --out res -q\n```\n\n"
            f"```python\nimport fer_bench\nfer_bench.run(methods=['pca-svm'], dataset='manifest:{tiny_manifest}', "
            "runs=10, out='res', progress=False)\n```\n")
    outcomes = run_blocks(readme_blocks(text), tmp_path, JAFFE, _environment(tmp_path / "cache"))
    assert [o.returncode for o in outcomes] == [0, 1]
    assert "holds results of another configuration (runs: stored 2, requested 1)" in outcomes[1].output
    assert "README.md:5 (python) FAILED (exit 1)" in _describe(outcomes)


# -- the README and docs/ ---------------------------------------------------------------------------


def test_doc_pages_follow_the_site_nav_and_exist():
    pages = doc_pages()
    assert pages[0] == "README.md" and "docs/usage.md" in pages and "docs/results.md" in pages
    missing = [page for page in pages if not (REPO / page).is_file()]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist: {missing}"
    orphans = sorted({p.name for p in (REPO / "docs").glob("*.md")} - {p.split("/")[-1] for p in pages} - {"index.md"})
    assert not orphans, f"pages in docs/ that mkdocs.yml's nav does not list (they would not be tested): {orphans}"


def test_results_page_tables_match_the_committed_results():
    """Every table of docs/results.md is what ``python results/readme_tables.py`` prints from
    ``results/``: a result regenerated without its page updated (or the reverse) fails here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", REPO / "results" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    sections = [s.strip() for s in re.split(r"\n(?=## )", module.tables()) if s.strip()]
    assert len(sections) >= 5
    stale = [s.splitlines()[0] for s in sections if s not in page]
    assert not stale, ("docs/results.md no longer matches results/ for: " + "; ".join(stale)
                       + " (paste the output of `python results/readme_tables.py`)")



@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Run the README's blocks once, in a temporary copy of the repository."""
    base = tmp_path_factory.mktemp("readme")
    workdir = base / "fer-bench"
    hashes = _copy_tracked_files(workdir)
    jaffe = JAFFE if JAFFE.is_dir() else make_jaffe_stand_in(base / "jaffe-stand-in")
    blocks = [block for page in doc_pages() for block in readme_blocks((REPO / page).read_text(encoding="utf-8"), page)]
    outcomes = run_blocks(blocks, workdir, jaffe, _environment(tmp_path_factory.getbasetemp() / "fer-bench-cache"))
    print(f"README and docs blocks (JAFFE: {jaffe}):\n" + _describe(outcomes))
    return workdir, hashes, outcomes


@pytest.mark.slow
def test_readme_examples_run_in_order(readme_run):
    _, _, outcomes = readme_run
    assert any(o.code is not None for o in outcomes), "no README block was run"
    failed = [o for o in outcomes if o.code is not None and o.returncode != 0]
    assert not failed, "README examples fail when run in order:\n" + _describe(outcomes)


@pytest.mark.slow
def test_readme_examples_leave_tracked_files_alone(readme_run):
    workdir, hashes, _ = readme_run
    changed = sorted(name for name, digest in hashes.items()
                     if not (workdir / name).is_file()
                     or hashlib.sha256((workdir / name).read_bytes()).hexdigest() != digest)
    assert not changed, f"the README's examples rewrite {len(changed)} tracked files, e.g. {changed[:8]}"
