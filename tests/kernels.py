"""Run a command under another choice of CPU kernels, to catch outputs that depend on the CPU.

numpy's bundled OpenBLAS and PyTorch pick their kernels at run time from the CPU they find:
AVX-512 here, AVX2 on many laptops, SSE only on old ones. Kernels for different instruction sets
add numbers in different orders, so the last digit of a sum can change from one machine to the
next, and a stored output that shows such a digit breaks strict nbval elsewhere. These
environment variables make one machine pick the kernels of another:

- ``OPENBLAS_CORETYPE``: the core type numpy's OpenBLAS (built with DYNAMIC_ARCH) uses;
- ``ATEN_CPU_CAPABILITY``: PyTorch's own vectorised kernels (``default`` = no SIMD, ``avx2``);
- ``MKL_ENABLE_INSTRUCTIONS``: the instruction set of the MKL inside PyTorch's wheel;
- ``ONEDNN_MAX_CPU_ISA``: the same for oneDNN;
- ``OMP_NUM_THREADS``: how many threads split a reduction (another source of a different order).

Usage (``make test-portable`` runs strict nbval of solutions/ under several of these)::

    python tests/kernels.py list
    python tests/kernels.py run generic -- python -m pytest --nbval solutions

A selection that needs an instruction set this CPU lacks is skipped, with a message, rather than
run: OpenBLAS would crash on an illegal instruction.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys

#: name -> (CPU flags the selection needs, environment variables it sets)
SELECTIONS: dict[str, tuple[set[str], dict[str, str]]] = {
    "native": (set(), {}),
    "haswell": ({"avx2", "fma"}, {
        "OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "4",
    }),
    "zen": ({"avx2", "fma"}, {
        "OPENBLAS_CORETYPE": "Zen", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "3",
    }),
    "generic": ({"sse4_2"}, {
        "OPENBLAS_CORETYPE": "Prescott", "ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "ONEDNN_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "1",
    }),
}


def cpu_flags() -> set[str] | None:
    """Return the CPU's feature flags from /proc/cpuinfo, or None where they cannot be read (not Linux x86)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def environment(name: str) -> dict[str, str] | None:
    """Return os.environ with selection ``name`` applied, or None when this CPU cannot run it."""
    if name not in SELECTIONS:
        raise SystemExit(f"unknown kernel selection {name!r}; known: {', '.join(SELECTIONS)}")
    needs, variables = SELECTIONS[name]
    flags = cpu_flags()
    if variables and flags is None:
        return None
    if needs - (flags or set()):
        return None
    return {**os.environ, **variables}


def main(argv: list[str]) -> int:
    """Run ``list`` or ``run NAME -- COMMAND...`` and return the exit status."""
    if argv[:1] == ["list"]:
        for name, (needs, variables) in SELECTIONS.items():
            settings = " ".join(f"{k}={v}" for k, v in variables.items()) or "(this CPU's own kernels)"
            print(f"{name:>8}: {settings}" + (f"  [needs {', '.join(sorted(needs))}]" if needs else ""))
        return 0
    if len(argv) < 3 or argv[0] != "run" or "--" not in argv:
        print(__doc__.split("Usage", 1)[1], file=sys.stderr)
        return 2
    name, command = argv[1], argv[argv.index("--") + 1:]
    env = environment(name)
    if env is None:
        needs = ", ".join(sorted(SELECTIONS[name][0])) or "x86-64 Linux"
        print(f"kernels.py: skipping the {name!r} selection: this CPU or system lacks {needs}")
        return 0
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())"],
        env=env, capture_output=True, text=True,
    )
    settings = " ".join(f"{k}={v}" for k, v in SELECTIONS[name][1].items()) or "native kernels"
    print(f"kernels.py: {name}: {settings} (torch reports: {probe.stdout.strip() or probe.stderr.strip()[-200:]})", flush=True)
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
