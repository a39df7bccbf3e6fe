"""lmgate makes OpenBLAS run the kernels for this CPU: an engine command whose
OpenBLAS fell back to a weaker core than the CPU runs executes itself again
with OPENBLAS_CORETYPE set, and logs the core and who chose it; a user's own
OPENBLAS_CORETYPE is kept.

The core this CPU should get is worked out here on its own: from the flags in
/proc/cpuinfo, and by asking this machine's OpenBLAS (loaded with ctypes in a
fresh interpreter) which core it loads by itself and which names it accepts.
"""
import os
import pathlib
import re
import subprocess
import sys

from backend_support import MODEL, BackendProcess
from conftest import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "lmgate-demo.gguf"
REEXEC = "running again with OPENBLAS_CORETYPE set"

CORENAME = (
    "import ctypes, ctypes.util\n"
    "lib = ctypes.CDLL(ctypes.util.find_library('openblas') or 'libopenblas.so.0')\n"
    "lib.openblas_get_corename.restype = ctypes.c_char_p\n"
    "print(lib.openblas_get_corename().decode())\n"
)


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "LMGATE_OPENBLAS"))}
    env.update(extra)
    return env


def openblas_core(**extra) -> str:
    """The core this machine's OpenBLAS loads in a new process with this environment."""
    return subprocess.run(
        [sys.executable, "-c", CORENAME], env=environment(**extra), capture_output=True, text=True, check=True
    ).stdout.strip()


def cpu_flags() -> set:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def expected_core():
    """(core, re-executed): the best core the CPU runs that this OpenBLAS
    accepts, and whether lmgate must ask for it (OpenBLAS did not load it)."""
    flags = cpu_flags()
    candidates = []
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        if "avx512_bf16" in flags:
            candidates.append("Cooperlake")
        candidates.append("SkylakeX")
    if {"avx2", "fma"} <= flags:
        candidates.append("Haswell")
    by_itself = openblas_core()
    accepted = [core for core in candidates if openblas_core(OPENBLAS_CORETYPE=core).lower() == core.lower()]
    # OpenBLAS's own choice stands if it uses vectors as wide as the best accepted core.
    width = {"sapphirerapids": 512, "cooperlake": 512, "skylakex": 512, "haswell": 256, "zen": 256}
    if not accepted or width.get(by_itself.lower(), 0) >= width[accepted[0].lower()]:
        return by_itself, False
    return accepted[0], True


def run_engine(bin_dir, args, env):
    process = subprocess.run(
        [str(bin_dir / "lmgate"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert process.returncode == 0, process.stderr
    return process


def core_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "OpenBLAS kernels" in line]
    assert len(lines) == 1, stderr
    return lines[0]


def test_user_setting_is_kept(bin_dir):
    process = run_engine(
        bin_dir,
        ["run", "--model", str(DEMO), "--prompt", "Hello", "--max-tokens", "2", "--threads", "1", "--temperature", "0"],
        environment(OPENBLAS_CORETYPE="Prescott"),
    )
    line = core_line(process.stderr)
    assert "blas.core=Prescott " in line
    assert "blas.core_reason=set by the user " in line
    assert REEXEC not in process.stderr


def test_core_for_this_cpu(bin_dir):
    core, reexecuted = expected_core()
    process = run_engine(
        bin_dir, ["bench", "--model", str(DEMO), "-p", "8", "-n", "2", "-r", "1", "-t", "1"], environment()
    )
    line = core_line(process.stderr)
    assert re.search(r"blas\.core=(\S+)", line).group(1).lower() == core.lower(), line
    if reexecuted:
        assert "blas.core_reason=set by lmgate for this CPU " in line
        assert process.stderr.count(REEXEC) == 1, process.stderr
    else:
        assert "blas.core_reason=chosen by OpenBLAS " in line
        assert REEXEC not in process.stderr
    # bench prints the CPU model and the core beside its figures.
    assert re.search(rf"^cpu: .+; OpenBLAS core: {re.escape(core)} \(", process.stdout, re.IGNORECASE | re.MULTILINE), process.stdout


def test_backend_reports_its_core(bin_dir, fixtures):
    core, reexecuted = expected_core()
    server = BackendProcess(bin_dir, fixtures / "models" / f"{MODEL}.gguf")
    server.env = environment()
    with server:
        info = [name for name in server.metrics() if name.startswith("lmgate_backend_info{")]
        output = server.stop()
    assert len(info) == 1, info
    assert re.search(r'blas_core="([^"]*)"', info[0]).group(1).lower() == core.lower(), info[0]
    reason = "set by lmgate for this CPU" if reexecuted else "chosen by OpenBLAS"
    assert f'blas_core_reason="{reason}"' in info[0]
    assert 'cpu="' in info[0]
    assert output.count(REEXEC) == (1 if reexecuted else 0), output


def test_status_shows_the_backends_core(bin_dir, fixtures, tmp_path):
    core, reexecuted = expected_core()
    server = BackendProcess(bin_dir, fixtures / "models" / f"{MODEL}.gguf")
    server.env = environment()
    config = tmp_path / "lmgate.yaml"
    config.write_text(
        f'listen: ["127.0.0.1:{free_port()}"]\nupstreams: ["{server.base_url}"]\nbackend:\n  port: {server.port}\n')
    with server:
        result = subprocess.run([str(bin_dir / "lmgate"), "status", "--config", str(config)], capture_output=True,
                                text=True, timeout=30, env={**environment(), "LMGATE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    reason = "set by lmgate for this CPU" if reexecuted else "chosen by OpenBLAS"
    assert re.search(rf"engine: OpenBLAS core {re.escape(core)} \({reason}\) on .+", result.stdout, re.IGNORECASE), \
        result.stdout
