"""``grader new ID``: a new assignment's files, from commented templates that say what to change.

The templates (``grader/templates/new/``) are a small working assignment: a reference module, a
rubric that uses each kind of check (value with a distractor and error carried forward, public and
hidden function checks, ``function:`` and ``select``, a manual question, a YAML anchor), the sheet,
and a right and a wrong example with the manifest that says what each must score. So ``grader
validate rubrics/ID.yaml`` passes the moment they are written, and every later edit is checked
against working examples. Nothing is ever overwritten.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path

from .errors import ScaffoldError

TEMPLATES = Path(__file__).resolve().parent / "templates" / "new"
ID_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
# template (under TEMPLATES) -> where it goes under the project root
FILES = {
    "reference.py.txt": "reference/{id}.py",
    "rubric.yaml.txt": "rubrics/{id}.yaml",
    "sheet.md.txt": "rubrics/{id}.md",
    "manifest.yaml.txt": "submissions/{id}/manifest.yaml",
    "right/answers.yaml.txt": "submissions/{id}/right/answers.yaml",
    "right/ID.py.txt": "submissions/{id}/right/{id}.py",
    "wrong/answers.yaml.txt": "submissions/{id}/wrong/answers.yaml",
    "wrong/ID.py.txt": "submissions/{id}/wrong/{id}.py",
}


def new_assignment(root: Path | str, assignment_id: str, title: str | None = None) -> list[Path]:
    """Write a new assignment's files under ``root`` (the folder holding rubrics/, reference/, submissions/).

    Refuses (``ScaffoldError``, nothing written) an id that is not a lower-case Python name, or any
    file or the examples folder that already exists.
    """
    root = Path(root)
    if not ID_RULE.match(assignment_id) or keyword.iskeyword(assignment_id):
        raise ScaffoldError(f"{assignment_id!r}: an assignment id is a lower-case Python name (letters, digits, _; "
                            "a letter first; not a keyword), since it names the module reference/ID.py")
    targets = {template: root / target.format(id=assignment_id) for template, target in FILES.items()}
    taken = [p for p in [*targets.values(), root / "submissions" / assignment_id] if p.exists()]
    if taken:
        raise ScaffoldError("already exists (nothing was written): " + ", ".join(str(p) for p in taken))
    title = title or f"{assignment_id} (a new assignment)"
    if "\n" in title:
        raise ScaffoldError("the title is one line")
    values = {"{{id}}": assignment_id, "{{title}}": title}
    written = []
    package = root / "reference" / "__init__.py"
    if not package.exists():
        targets["(package)"] = package
    for template, target in targets.items():
        text = (TEMPLATES / template).read_text(encoding="utf-8") if template != "(package)" else '"""Reference solutions."""\n'
        if template.endswith(".yaml.txt"):
            text = text.replace("title: {{title}}", f"title: {json.dumps(title)}")  # a JSON string is YAML, quoted
        for key, value in values.items():
            text = text.replace(key, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
