"""`lmgate serve` started as a user starts it, for the end-to-end tests."""
import os
import pathlib
import re
import subprocess
import time

from conftest import free_port, stop_process


class Serve:
    """`lmgate serve` as a child process with its own LMGATE_HOME (so its
    first run makes the certificate, the main key and the configuration),
    stdout (the banner) and stderr (the logs) in files."""

    def __init__(self, bin_dir, directory, model, *args, listen=None):
        self.directory = pathlib.Path(directory)
        self.home = self.directory / "home"
        self.port = free_port()
        self.backend_port = free_port()
        self.out_path = self.directory / "serve.out"
        self.log_path = self.directory / "serve.log"
        # model None: no --model, so serve picks the default model (from the current directory).
        command = [str(pathlib.Path(bin_dir) / "lmgate"), "serve", *(["--model", str(model)] if model else []),
                   "--backend-port", str(self.backend_port)]
        for address in listen or [f"127.0.0.1:{self.port}"]:
            command += ["--listen", address.format(port=self.port)]
        command += list(args)
        self.out = open(self.out_path, "w")
        self.log = open(self.log_path, "w")
        env = {**os.environ, "LMGATE_HOME": str(self.home)}
        self.process = subprocess.Popen(command, stdout=self.out, stderr=self.log, env=env)
        self._wait(lambda: "try: curl" in self.banner, "print its banner")
        self.key = re.search(r"main API key.*\n\s+(\S+)", self.banner).group(1)
        self.ca = str(self.home / "cert.pem")

    @property
    def banner(self):
        return self.out_path.read_text()

    def log_text(self):
        return self.log_path.read_text()

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    def backend_pid(self):
        """The supervised backend's process id (the serve process's child), or None."""
        result = subprocess.run(["pgrep", "-P", str(self.process.pid), "-f", "lmgate backend"],
                                capture_output=True, text=True)
        pids = result.stdout.split()
        return int(pids[0]) if pids else None

    def curl(self, path="/v1/models", *args, key=None):
        """(HTTP status, body) of one curl request over TLS trusting the generated CA."""
        command = ["curl", "-s", "-m", "20", "--cacert", self.ca, "-w", "\n%{http_code}"]
        if key:
            command += ["-H", f"Authorization: Bearer {key}"]
        result = subprocess.run(command + list(args) + [self.url + path], capture_output=True, text=True)
        body, _, status = result.stdout.rpartition("\n")
        return status, body

    def wait_ready(self, timeout=60):
        """Until the backend's model is loaded (the proxy forwards /health to it)."""
        self._wait(lambda: self.curl("/health")[0] == "200", "have its model loaded", timeout)

    def _wait(self, condition, what, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lmgate serve exited ({self.process.returncode}): {self.log_text()}")
            if condition():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"lmgate serve did not {what}: {self.banner}\n{self.log_text()}")

    def stop(self):
        stop_process(self.process)
        self.out.close()
        self.log.close()
