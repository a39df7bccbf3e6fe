"""A throw-away PostgreSQL cluster for the end-to-end tests, as the Swift
tests' TemporaryPostgres makes one: `initdb` in a temporary directory, the
server on a free loopback port, a user `lmgate` with a password made here
(SCRAM over TCP). Never the system's cluster. As root, the cluster runs as
the `postgres` user that Debian's `postgresql` package creates (PostgreSQL
refuses to run as root).
"""
import glob
import os
import secrets
import shutil
import subprocess
import tempfile

import random
import socket


def server_bin_dir():
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise RuntimeError("PostgreSQL's server (initdb, pg_ctl) is not installed in /usr/lib/postgresql/*/bin: "
                           "run scripts/setup")
    return os.path.dirname(candidates[-1])


def port_below_ephemeral_range():
    """A loopback port nothing listens on now, below the kernel's ephemeral range (32768-60999 by default):
    the server is stopped and started again on it, and a port from that range can be taken in between as
    the local port of another connection ("could not bind IPv4 address: Address already in use")."""
    for _ in range(200):
        candidate = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
                return candidate
            except OSError:
                continue
    raise RuntimeError("no free loopback port in 20000-32000")


class TemporaryPostgres:
    user = "lmgate"
    database = "lmgate"

    def __init__(self):
        self.bin = server_bin_dir()
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.directory = tempfile.mkdtemp(prefix="lmgate-pg-", dir="/tmp")
        self.port = port_below_ephemeral_range()
        self.password = secrets.token_urlsafe(18)
        self.password_file = os.path.join(self.directory, "password")
        with open(self.password_file, "w") as f:
            f.write(self.password + "\n")
        if self.run_as:
            shutil.chown(self.directory, self.run_as)
            shutil.chown(self.password_file, self.run_as)
        self.data = os.path.join(self.directory, "data")
        self._tool("initdb", "-D", self.data, "-U", self.user, "--pwfile", self.password_file,
                   "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        self.start()
        self.psql("postgres", f"CREATE DATABASE {self.database}")

    @property
    def url(self):
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.database}?sslmode=disable"

    def start(self):
        self._tool("pg_ctl", "-D", self.data, "-l", os.path.join(self.directory, "server.log"), "-w", "-t", "30",
                   "start", "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off")

    def stop(self):
        self._tool("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def psql(self, database, sql):
        return self._tool("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.directory,
                          "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql)

    def destroy(self):
        subprocess.run(self._command("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"), capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _command(self, tool, *args):
        command = [os.path.join(self.bin, tool), *args]
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    def _tool(self, tool, *args):
        result = subprocess.run(self._command(tool, *args), capture_output=True, text=True, cwd="/tmp",
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr}")
        return result.stdout
