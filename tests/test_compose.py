"""The production stack: docker-compose.yml, Dockerfile, .env.example and the postgres init script.

No Docker engine runs here, so the files are checked as data: against the official Compose
Specification JSON schema (vendored in tests/fixtures, see compose-spec.SOURCE) and against
the rules of this stack. Every rule is a function that returns its problems; the tests assert
that the real files have none, and `test_rule_rejects_a_broken_copy` shows each rule failing
on a deliberately broken copy, so a rule that can never fail would be noticed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
POSTGRES_INIT_DIR = ROOT / "docker" / "postgres-init"
SCHEMA_FILE = Path(__file__).resolve().parent / "fixtures" / "compose-spec.json"
SCHEMA_SOURCE = SCHEMA_FILE.with_suffix(".SOURCE")

AIRFLOW_LONG_RUNNING = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
CELERY_SERVICES = ("redis", "airflow-worker")
# Services that run the image built from our Dockerfile.
AIRFLOW_SERVICES = ("airflow-init", *AIRFLOW_LONG_RUNNING, "airflow-worker", "flower")
# Airflow services that must wait for a healthy postgres and a finished airflow-init.
AIRFLOW_WAITING = (*AIRFLOW_LONG_RUNNING, "airflow-worker", "flower")
HEALTHCHECKED = ("postgres", *AIRFLOW_LONG_RUNNING, *CELERY_SERVICES, "flower")
REQUIRED_SERVICES = ("postgres", "airflow-init", *AIRFLOW_LONG_RUNNING, *CELERY_SERVICES)
AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
# Secrets every deployment needs: Compose must refuse to start without them.
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "NEWS_DB_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_ADMIN_PASSWORD",
)
INIT_STEPS = (
    "airflow db migrate",
    "airflow users create",
    "news-ingest migrate",
    'airflow pools set feed_fetch 4 "Concurrent feed fetches"',
)

SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|BASIC_AUTH|(?:^|_)KEY$", re.IGNORECASE)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt};
# "$${...}" is Compose's escape for a literal "${" and is not a reference.
REFERENCE = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)
# user:password@ in a URL, where either part may be a ${...} reference.
URL_CREDENTIALS = re.compile(
    r"://(?P<user>\$\{[^}]*\}|[^:@/\s]*):(?P<password>\$\{[^}]*\}|[^@/\s]*)@"
)
PASSWORD_FLAG = re.compile(r"--password[= ]+(?P<value>\S+)")
# A "$" that is neither "$$" (escape) nor the start of "${": Compose would read "$NAME".
BARE_DOLLAR = re.compile(r"\$\$|\$\{|(?P<bare>\$)")
ENV_LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
# Airflow 3.3.x images default to Python 3.13; news-ingest supports 3.11 and 3.12.
FROM_IMAGE = re.compile(r"^apache/airflow:3\.3\.2-python3\.(?:11|12|13)$")


# --- loading ---------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    """Safe load (YAML 1.2, merge keys resolved) into plain dicts and lists."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), f"{COMPOSE_FILE} is not a mapping"
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return data.get("services") or {}


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a dict, from either the mapping or the KEY=VALUE list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: (value if sep else None) for key, sep, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> condition (the list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source, from short ("src:dst[:mode]") or long volume syntax."""
    result: dict[str, str] = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result[volume["target"]] = volume.get("source", "")
        else:
            source, _, rest = volume.partition(":")
            result[rest.partition(":")[0]] = source
    return result


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(command)


def strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def references(data: Any) -> list[re.Match[str]]:
    return [match for text in strings(data) for match in REFERENCE.finditer(text)]


def env_example() -> dict[str, str]:
    entries = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.match(line.strip())
        if match:
            entries[match["name"]] = match["value"]
    return entries


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return instructions


def copied_paths(instructions: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """(source, destination) of every COPY, flags such as --chown left out."""
    pairs = set()
    for keyword, arguments in instructions:
        if keyword == "COPY":
            *sources, destination = [arg for arg in arguments.split() if not arg.startswith("--")]
            pairs.update((source, destination) for source in sources)
    return pairs


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in arguments.split() if "=" in pair)
    return env


# --- rules: each returns a list of problems --------------------------------------------


def schema_problems(data: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(spec)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(data)
    ]


def missing_services(data: dict[str, Any]) -> list[str]:
    return [
        f"service {name} is missing" for name in REQUIRED_SERVICES if name not in services(data)
    ]


def healthcheck_problems(data: dict[str, Any], names: tuple[str, ...] = HEALTHCHECKED) -> list[str]:
    problems = []
    for name in names:
        check = services(data).get(name, {}).get("healthcheck") or {}
        test = check.get("test") or []
        kind = test[0] if isinstance(test, list) and test else None
        if check.get("disable") or kind not in ("CMD", "CMD-SHELL"):
            problems.append(f"{name} has no healthcheck test (CMD or CMD-SHELL)")
    return problems


def dependency_problems(data: dict[str, Any]) -> list[str]:
    """Start order: postgres healthy, then airflow-init finished, then the rest."""
    svcs = services(data)
    expected = {name: {"postgres": "service_healthy"} for name in ("airflow-init",)}
    for name in AIRFLOW_WAITING:
        expected[name] = {
            "postgres": "service_healthy",
            "airflow-init": "service_completed_successfully",
        }
    expected["airflow-worker"]["redis"] = "service_healthy"
    problems = []
    for name, wanted in expected.items():
        actual = depends_on(svcs.get(name, {}))
        problems += [
            f"{name} must wait for {dep} ({condition}), has {actual.get(dep)}"
            for dep, condition in wanted.items()
            if actual.get(dep) != condition
        ]
    return problems + dependency_target_problems(data)


def dependency_target_problems(data: dict[str, Any]) -> list[str]:
    """Every dependency exists, and a service_healthy target has a healthcheck to wait for."""
    svcs = services(data)
    problems = []
    for name, service in svcs.items():
        for dep, condition in depends_on(service).items():
            if dep not in svcs:
                problems.append(f"{name} depends on unknown service {dep}")
            elif condition == "service_healthy" and not svcs[dep].get("healthcheck"):
                problems.append(f"{name} waits for {dep} to be healthy, but it has no healthcheck")
    return problems


def profile_problems(data: dict[str, Any]) -> list[str]:
    """redis and the worker only in the celery profile; the default set stands on its own."""
    svcs = services(data)
    problems = [
        f"{name} must be in the celery profile, not started by default"
        for name in CELERY_SERVICES
        if "celery" not in (svcs.get(name, {}).get("profiles") or [])
    ]
    default = {name for name, service in svcs.items() if not service.get("profiles")}
    for name in sorted(default):
        problems += [
            f"{name} (default profile) depends on {dep}, which is only in a profile"
            for dep in depends_on(svcs[name])
            if dep in svcs and dep not in default
        ]
    return problems


def literal_secret_problems(data: dict[str, Any]) -> list[str]:
    """Secret-looking values must come from ${...} references, never literals."""
    problems = []
    for name, service in services(data).items():
        for key, value in environment(service).items():
            problems += [f"{name}: {key}: {p}" for p in value_secret_problems(key, value)]
        command = command_text(service)
        problems += [
            f"{name}: command passes a literal --password {match['value']}"
            for match in PASSWORD_FLAG.finditer(command)
            if not match["value"].lstrip('"').startswith("$$")
        ]
    return problems


def value_secret_problems(key: str, value: str | None) -> list[str]:
    if value is None:  # passed through from the host environment
        return []
    problems = []
    if SECRET_NAME.search(key) and not REFERENCE.fullmatch(value):
        problems.append(f"literal secret {value!r}")
    problems += [
        f"URL with a literal password {match['password']!r}"
        for match in URL_CREDENTIALS.finditer(value)
        if not REFERENCE.fullmatch(match["password"])
    ]
    return problems


def reference_problems(data: dict[str, Any]) -> list[str]:
    """No default value for any secret; the core secrets are required (${NAME:?message})."""
    problems = []
    for match in references(data):
        name, op, arg = match["name"], match["op"], match["arg"]
        if SECRET_NAME.search(name) and op in ("-", ":-", "+", ":+") and arg:
            problems.append(f"{match[0]}: a secret must not have a default value")
        if name in REQUIRED_SECRETS and op != ":?":
            problems.append(f"{match[0]}: {name} must be required, as ${{{name}:?message}}")
    return problems


def undocumented_variables(data: dict[str, Any], documented: set[str]) -> list[str]:
    used = {match["name"] for match in references(data)}
    return [
        f"{name} is used in docker-compose.yml but not in .env.example"
        for name in sorted(used - documented)
    ]


def bare_dollar_problems(data: dict[str, Any]) -> list[str]:
    return [
        f"unescaped '$' in {text!r}: write $$ for the shell, ${{NAME}} for Compose"
        for text in strings(data)
        if any(match["bare"] for match in BARE_DOLLAR.finditer(text))
    ]


def dockerfile_problems(text: str) -> list[str]:
    instructions = dockerfile_instructions(text)
    froms = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    problems = []
    if len(froms) != 1 or not FROM_IMAGE.match(froms[0]):
        problems.append(
            f"FROM must be apache/airflow:3.3.2 with Python 3.11, 3.12 or 3.13, is {froms}"
            " (name the interpreter: the bare tag follows the image's default Python)"
        )
    return problems + install_problems(instructions) + layout_problems(instructions)


def install_problems(instructions: list[tuple[str, str]]) -> list[str]:
    """pip install as the airflow user, with Airflow pinned to the image's version."""
    user = "root"
    for keyword, arguments in instructions:
        if keyword == "USER":
            user = arguments.split(":")[0]
        if keyword == "RUN" and "pip install" in arguments:
            problems = [] if user == "airflow" else [f"pip install runs as {user}, not airflow"]
            if '"apache-airflow==${AIRFLOW_VERSION}"' not in arguments:
                problems.append('pip install does not pin "apache-airflow==${AIRFLOW_VERSION}"')
            return problems
    return ["no RUN pip install"]


def layout_problems(instructions: list[tuple[str, str]]) -> list[str]:
    """Package, migrations and config copied to /opt/news-ingest, with the env pointing there."""
    copied = copied_paths(instructions)
    problems = [
        f"nothing copies {source} to {target}"
        for source, target in (
            ("pyproject.toml", "/opt/news-ingest/"),
            ("pipeline/", "/opt/news-ingest/pipeline/"),
            ("sql/", "/opt/news-ingest/sql/"),
            ("config/", "/opt/news-ingest/config/"),
        )
        if (source, target) not in copied
    ]
    env = dockerfile_env(instructions)
    if not any(
        keyword == "RUN" and "sql_dir()" in arguments and "site-packages" in arguments
        for keyword, arguments in instructions
    ):
        problems.append("the build does not check that the installed package has the migrations")
    if "NEWS_INGEST_SQL_DIR" in env:
        problems.append("NEWS_INGEST_SQL_DIR is set: the wheel carries the migrations")
    if env.get("NEWS_INGEST_CONFIG") != "/opt/news-ingest/config/feeds.yaml":
        problems.append("NEWS_INGEST_CONFIG is not /opt/news-ingest/config/feeds.yaml")
    return problems


# --- tests: the real files -------------------------------------------------------------


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], schema: dict[str, Any]
) -> None:
    assert schema_problems(compose, schema) == []


def test_vendored_schema_names_its_source() -> None:
    source = SCHEMA_SOURCE.read_text(encoding="utf-8")
    assert "compose-spec/compose-spec" in source
    assert "schema/compose-spec.json" in source
    assert re.search(r"commit:\s+[0-9a-f]{40}\b", source)
    assert "Apache-2.0" in source


def test_required_services_are_present(compose: dict[str, Any]) -> None:
    assert missing_services(compose) == []


@pytest.mark.parametrize("name", HEALTHCHECKED)
def test_long_running_service_has_a_healthcheck(compose: dict[str, Any], name: str) -> None:
    assert healthcheck_problems(compose, (name,)) == []


def test_services_start_in_order(compose: dict[str, Any]) -> None:
    assert dependency_problems(compose) == []


def test_celery_services_only_in_the_celery_profile(compose: dict[str, Any]) -> None:
    assert profile_problems(compose) == []


def test_executor_is_chosen_by_env_with_local_as_default(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        value = environment(services(compose)[name])["AIRFLOW__CORE__EXECUTOR"] or ""
        match = REFERENCE.fullmatch(value)
        assert match, f"{name}: executor {value!r} is not taken from the environment"
        assert (match["name"], match["op"], match["arg"]) == (
            "AIRFLOW_EXECUTOR",
            ":-",
            "LocalExecutor",
        )
    header = "".join(re.findall(r"^#.*\n", COMPOSE_FILE.read_text(encoding="utf-8"), re.M))
    for documented in ("AIRFLOW_EXECUTOR=CeleryExecutor", "COMPOSE_PROFILES=celery"):
        assert documented in header, f"the header comment does not explain {documented}"


@pytest.mark.parametrize(("name", "command"), AIRFLOW_COMMANDS.items())
def test_airflow_3_service_commands(compose: dict[str, Any], name: str, command: str) -> None:
    assert command_text(services(compose)[name]) == command


def test_airflow_3_settings(compose: dict[str, Any]) -> None:
    env = environment(services(compose)["airflow-scheduler"])
    assert (
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    )
    assert any(port.endswith(":8080") for port in services(compose)["airflow-apiserver"]["ports"])
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
    ):
        assert env.get(key), f"{key} is not set"
    assert not any("webserver" in text for text in strings(compose)), (
        "Airflow 2 webserver left over"
    )


def test_airflow_init_runs_every_setup_step(compose: dict[str, Any]) -> None:
    init = services(compose)["airflow-init"]
    script = command_text(init)
    assert [step for step in INIT_STEPS if step not in script] == []
    assert "set -euo pipefail" in script, "a failed step must fail airflow-init"
    assert init.get("restart") == "no", "a one-shot service must not be restarted"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_is_built_from_our_dockerfile(compose: dict[str, Any], name: str) -> None:
    service = services(compose)[name]
    build = service.get("build") or {}
    build = {"context": build} if isinstance(build, str) else build
    context = (ROOT / build.get("context", ".")).resolve()
    assert context == ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    assert service.get("image") == services(compose)["airflow-init"].get("image")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_mounts_dags_config_and_logs(compose: dict[str, Any], name: str) -> None:
    service_mounts = mounts(services(compose)[name])
    assert service_mounts.get("/opt/airflow/dags") == "./dags"
    assert service_mounts.get("/opt/news-ingest/config") == "./config"
    assert service_mounts.get("/opt/airflow/logs") in (compose.get("volumes") or {})


def test_postgres_keeps_data_in_a_named_volume_and_runs_the_init_script(
    compose: dict[str, Any],
) -> None:
    postgres = services(compose)["postgres"]
    assert postgres["image"] == "postgres:16"
    postgres_mounts = mounts(postgres)
    assert postgres_mounts.get("/var/lib/postgresql/data") in (compose.get("volumes") or {})
    source = postgres_mounts.get("/docker-entrypoint-initdb.d", "")
    assert (ROOT / source).resolve() == POSTGRES_INIT_DIR
    assert sorted(POSTGRES_INIT_DIR.glob("*.sh")), "no init script in docker/postgres-init"


def test_postgres_init_script_creates_both_databases_from_env(compose: dict[str, Any]) -> None:
    script = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(POSTGRES_INIT_DIR.glob("*.sh"))
    )
    for database in ("airflow", "news"):
        assert re.search(rf"CREATE DATABASE {database} OWNER", script), database
    used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", script)) - {"POSTGRES_USER"}
    passed = set(environment(services(compose)["postgres"]))
    assert used <= passed, f"the init script reads {sorted(used - passed)}, not passed to postgres"


def test_news_database_urls_point_at_the_news_database(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        env = environment(services(compose)[name])
        for key in ("AIRFLOW_CONN_NEWS_DB", "DATABASE_URL"):
            value = env.get(key) or ""
            assert value.startswith("postgresql://"), f"{name}: {key}"
            assert value.endswith("@postgres:5432/news"), f"{name}: {key}"
            assert "${NEWS_DB_USER" in value, f"{name}: {key}"
            assert "${NEWS_DB_PASSWORD" in value, f"{name}: {key}"
        assert (env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or "").endswith(
            "@postgres:5432/airflow"
        )


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    assert literal_secret_problems(compose) == []


def test_secret_references_have_no_defaults_and_core_ones_are_required(
    compose: dict[str, Any],
) -> None:
    assert reference_problems(compose) == []
    used = {match["name"] for match in references(compose)}
    assert set(REQUIRED_SECRETS) <= used


def test_every_dollar_is_a_reference_or_escaped(compose: dict[str, Any]) -> None:
    assert bare_dollar_problems(compose) == []


def test_env_example_documents_every_variable(compose: dict[str, Any]) -> None:
    documented = env_example()
    assert undocumented_variables(compose, set(documented)) == []
    assert {"COMPOSE_PROFILES", "AIRFLOW_EXECUTOR"} <= set(documented)


def test_env_example_carries_no_secret_values() -> None:
    filled = {
        name: value for name, value in env_example().items() if SECRET_NAME.search(name) and value
    }
    assert filled == {}


def test_env_file_is_git_ignored_and_kept_out_of_the_image() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    ignored = DOCKERIGNORE.read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", ".news-ingest"} <= set(ignored)
    assert not {"pipeline", "sql", "config", "pyproject.toml"} & set(ignored)


def test_dockerfile_extends_airflow_3_3_2_and_ships_the_migrations() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8")) == []
    assert sorted((ROOT / "sql").glob("*.sql")), "sql/ has no migrations to copy"


# --- tests: every rule rejects a broken copy -------------------------------------------


def _set_env(service: str, key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        services(data)[service]["environment"] = {
            **environment(services(data)[service]),
            key: value,
        }

    return mutate


def _drop(service: str, key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        services(data)[service].pop(key, None)

    return mutate


def _set_condition(service: str, dep: str, condition: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        deps = copy.deepcopy(services(data)[service]["depends_on"])
        deps[dep] = {"condition": condition}
        services(data)[service]["depends_on"] = deps

    return mutate


BROKEN_COPIES = [
    pytest.param(
        _set_env("postgres", "POSTGRES_PASSWORD", "hunter2"),
        literal_secret_problems,
        id="literal-password",
    ),
    pytest.param(
        _set_env("airflow-scheduler", "DATABASE_URL", "postgresql://news:s3cret@postgres/news"),
        literal_secret_problems,
        id="password-inside-url",
    ),
    pytest.param(
        _set_env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-postgres}"),
        reference_problems,
        id="secret-with-default",
    ),
    pytest.param(
        _set_env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD}"),
        reference_problems,
        id="core-secret-not-required",
    ),
    pytest.param(_drop("airflow-worker", "profiles"), profile_problems, id="worker-in-default"),
    pytest.param(
        _drop("airflow-triggerer", "healthcheck"), healthcheck_problems, id="no-healthcheck"
    ),
    pytest.param(
        _set_condition("airflow-scheduler", "airflow-init", "service_started"),
        dependency_problems,
        id="scheduler-does-not-wait-for-init",
    ),
    pytest.param(
        _set_env("airflow-init", "HOME_SHELL", "$HOME"),
        bare_dollar_problems,
        id="unescaped-dollar",
    ),
    pytest.param(
        _set_env("airflow-init", "EXTRA", "${UNDOCUMENTED_SETTING:-x}"),
        lambda data: undocumented_variables(data, set(env_example())),
        id="undocumented-variable",
    ),
]


@pytest.mark.parametrize(("mutate", "check"), BROKEN_COPIES)
def test_rule_rejects_a_broken_copy(
    compose: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    check: Callable[[dict[str, Any]], list[str]],
) -> None:
    assert check(compose) == []
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert check(broken) != []


def test_schema_rejects_an_invalid_depends_on_condition(
    compose: dict[str, Any], schema: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    _set_condition("airflow-scheduler", "postgres", "service_ready")(broken)
    assert schema_problems(broken, schema) != []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            "FROM apache/airflow:3.3.2-python3.12", "FROM apache/airflow:3.3.2", id="bare-tag"
        ),
        pytest.param(
            "FROM apache/airflow:3.3.2-python3.12",
            "FROM apache/airflow:3.3.2-python3.10",
            id="py310",
        ),
        pytest.param("USER airflow", "USER root", id="pip-as-root"),
        pytest.param('"apache-airflow==${AIRFLOW_VERSION}" ', "", id="airflow-not-pinned"),
        pytest.param("assert 'site-packages' in str(d)", "assert d", id="no-migrations-check"),
        pytest.param(
            "ENV NEWS_INGEST_CONFIG=",
            "ENV NEWS_INGEST_SQL_DIR=/opt/news-ingest/sql NEWS_INGEST_CONFIG=",
            id="sql-dir-still-set",
        ),
        pytest.param(
            "COPY --chown=airflow:0 sql/", "COPY --chown=airflow:0 docs/", id="no-sql-copy"
        ),
    ],
)
def test_dockerfile_rule_rejects_a_broken_copy(old: str, new: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text
    assert dockerfile_problems(text.replace(old, new)) != []
