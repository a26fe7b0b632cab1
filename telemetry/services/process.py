"""A long-running local service: a process group of its own, with its pid and log under the data
folder, so that `stop` ends it and every process it started; and the loopback checks every service
makes before it starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telemetry.settings import LOOPBACK, LakehouseError


@dataclass(frozen=True)
class Service:
    name: str
    run_dir: Path
    # A word of the service's command line: a pid file naming a process without it is stale
    # (the pid was reused), and that process is never signalled.
    marker: str | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The service's pid when its process is alive, else None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        if self.marker and not _command_line_has(pid, self.marker):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def require_stopped(self) -> None:
        if (pid := self.pid()) is not None:
            raise LakehouseError(f"{self.name} is already running (pid {pid}); "
                                 f"stop it first")

    def start(self, command: list[str], env: dict[str, str], ready: Callable[[], bool],
              where: str, timeout_s: float, pass_fds: tuple[int, ...] = ()) -> int:
        """Start the service in a process group of its own; return its pid once `ready()`
        holds, or stop it and fail with its log's last lines."""
        self.require_stopped()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       pass_fds=pass_fds)
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise LakehouseError(f"{self.name} exited with code {process.returncode}; "
                                     f"last lines of {self.log_file}:\n{self.tail()}")
            if ready():
                return process.pid
            time.sleep(1.0)
        self.stop()
        raise LakehouseError(f"{self.name} did not answer at {where} within {timeout_s:.0f}s;"
                             f" last lines of {self.log_file}:\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """End the service's whole process group; False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and _group_alive(pid):
                time.sleep(0.2)
            if not _group_alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _command_line_has(pid: int, word: str) -> bool:
    """Whether the process's command line holds `word` (true where /proc cannot tell)."""
    try:
        return word.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A zombie leader still counts until reaped; reap it if it is our child.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    return True


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 400
    except (OSError, ValueError):
        return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) != 0


def require_free_port(port: int, setting: str) -> None:
    """Fail, naming the setting that moves it, when something listens on 127.0.0.1:`port`."""
    if not port_free(port):
        raise LakehouseError(f"port {port} on {LOOPBACK} is taken; set {setting} to another port")


def venv_bin(name: str) -> str:
    """A command installed beside this Python (the virtual environment's bin/)."""
    return str(Path(sys.executable).with_name(name))
