""".env.example lists every environment variable the project reads, and nothing else: the
source is scanned, so a new variable fails here until it is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dagster._core.secrets.env_file import get_env_var_dict

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / ".env.example"
PRODUCT = ("core", "ingestion", "quality", "serving", "alerts", "orchestration", "revwh", "sandbox")
# the project's variables, and the dlt forms it reads (SOURCES__..., RUNTIME__...)
VARIABLE = re.compile(
    r"\b(?:(?:REVWH|STRIPE|CHARTMOGUL|DAGSTER|MOTHERDUCK)_|(?:SOURCES|RUNTIME)__)"
    r"[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_{])"
)
LISTED = re.compile(r"^# (?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$", re.MULTILINE)
TESTS_ONLY = "# --- Tests only"
# read by a library, not named in our code
READ_BY_LIBRARIES = {"DAGSTER_HOME": "Dagster (make dagster sets it)"}
SECRET = re.compile(r"KEY|PASSWORD|TOKEN|URLS?$|SECRET")


def _module_strings(tree: ast.Module) -> list[str]:
    """Every string literal, and module constants built from others (f"{PREFIX}URLS")."""
    constants: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            constants[node.targets[0].id] = value.value
        elif isinstance(value, ast.JoinedStr):
            parts = [
                p.value
                if isinstance(p, ast.Constant)
                else constants.get(p.value.id, "")
                if isinstance(p, ast.FormattedValue) and isinstance(p.value, ast.Name)
                else ""
                for p in value.values
            ]
            constants[node.targets[0].id] = "".join(parts)
    literals = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    return [*constants.values(), *literals]


def _environment_reads(tree: ast.Module) -> list[str]:
    """Names read with os.environ.get / os.getenv / os.environ[...] (the tests' own)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = ast.unparse(node.func)
            if function in ("os.environ.get", "os.getenv", "environ.get"):
                names.append(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
        ):
            names.append(node.slice.value)
    return [n for n in names if isinstance(n, str) and VARIABLE.fullmatch(n)]


def product_variables() -> dict[str, str]:
    """Each variable named in the product's code, dbt project or profiles, with a file that
    names it (and those only libraries read)."""
    found: dict[str, str] = dict(READ_BY_LIBRARIES)
    for package in PRODUCT:
        for path in (REPO / package).rglob("*.py"):
            for text in _module_strings(ast.parse(path.read_text(), str(path))):
                for name in VARIABLE.findall(text):
                    found.setdefault(name, str(path.relative_to(REPO)))
    others = [
        *(REPO / "profiles").glob("*.yml"),
        REPO / "dbt_project" / "dbt_project.yml",
        *(p for d in ("models", "macros", "tests") for p in (REPO / "dbt_project" / d).rglob("*")),
    ]
    for path in others:
        if path.is_file() and path.suffix in (".yml", ".sql"):
            for name in VARIABLE.findall(path.read_text()):
                found.setdefault(name, str(path.relative_to(REPO)))
    return found


def variables_the_tests_read() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("*.py"):
        names.update(_environment_reads(ast.parse(path.read_text(), str(path))))
    return names


def listed() -> tuple[dict[str, str], dict[str, str]]:
    """The variables of .env.example: (the product's, the tests-only block's)."""
    text = EXAMPLE.read_text()
    product, _, tests = text.partition(TESTS_ONLY)
    assert tests, f"{EXAMPLE.name} has no '{TESTS_ONLY}' block"

    def names(part: str) -> dict[str, str]:
        return {m["name"]: m["value"] for m in LISTED.finditer(part)}

    return names(product), names(tests)


def test_every_variable_the_product_reads_is_listed():
    product, _ = listed()
    missing = {name: where for name, where in product_variables().items() if name not in product}
    assert not missing, (
        "add these to .env.example with a one-line meaning and default "
        f"(variable: a file that reads it): {missing}"
    )


def test_every_variable_only_the_tests_read_is_in_the_tests_block():
    _, tests = listed()
    missing = variables_the_tests_read() - set(product_variables()) - set(tests)
    assert not missing, f"add these to the '{TESTS_ONLY}' block of .env.example: {missing}"


def test_nothing_listed_is_stale():
    product, tests = listed()
    read = set(product_variables())
    stale = (set(product) - read) | (set(tests) - variables_the_tests_read())
    assert not stale, f".env.example lists variables nothing reads any more: {stale}"


def test_each_variable_is_listed_once_with_a_meaning_and_no_secret_value():
    text = EXAMPLE.read_text()
    names = LISTED.findall(text)
    assert len(names) == len({n for n, _ in names}), "a variable is listed twice"
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = LISTED.match(line)
        if not match:
            continue
        # a comment line above each variable (or above its group) says what it is
        above = next(lines[i] for i in range(number - 1, -1, -1) if not LISTED.match(lines[i]))
        assert above.startswith("# ") and len(above) > 10, f"no meaning above {match['name']}"
        if SECRET.search(match["name"]):
            assert match["value"] == "", f"{match['name']} holds a value in .env.example"


def test_dagster_reads_the_file_and_as_copied_it_sets_nothing(tmp_path):
    """Dagster's own .env loader (what `dagster dev` runs): a copy of the example, with
    every line commented out, changes no setting until a line is uncommented."""
    (tmp_path / ".env").write_text(EXAMPLE.read_text())
    assert get_env_var_dict(str(tmp_path)) == {}
    (tmp_path / ".env").write_text(
        EXAMPLE.read_text().replace("# REVWH_SCHEDULE_TIMEZONE=", "REVWH_SCHEDULE_TIMEZONE=")
    )
    assert get_env_var_dict(str(tmp_path)) == {"REVWH_SCHEDULE_TIMEZONE": "UTC"}
