"""Dependencies point one way: messaging -> reservations -> customers (config under all three).

The one exception is `messaging.events.record_event`: every app appends to the one event log,
whose table messaging owns (moving it lower would rename its content type and the
`messaging.view_events` permission the roles hold, for no change in behaviour).
"""

import ast
from pathlib import Path

from django.conf import settings

ABOVE = {"customers": {"reservations", "messaging"}, "reservations": {"messaging"}}
ALLOWED = {"messaging.events"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_app_imports_an_app_above_it():
    wrong = []
    for app, above in ABOVE.items():
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for module in imported_modules(path):
                top = module.split(".")[0]
                if top in above and not any(
                    module == ok or module.startswith(ok + ".") for ok in ALLOWED
                ):
                    wrong.append(f"{path.relative_to(settings.BASE_DIR)} imports {module}")
    assert wrong == []
