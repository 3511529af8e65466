#!/usr/bin/env python3
"""The startup benchmark: bare venvs, autowrapt 2.0.0 + wrapt 2.5.2, and
wrapt-install in each of its modes, side by side, on several interpreters
in one run.

    python3 benches/startup.py       # CPython 3.12, 3.14, 3.15 and PyPy, 200 dists
    python3 benches/startup.py --python /usr/bin/pypy3 \\
        --python /root/.pyenv/versions/3.9.18/bin/python3.9 --modes pth,sitecustomize --no-scaling

It is a benchmark, not a test: it asserts nothing and cargo never runs it.
The default run took 16 minutes on a 2-core machine with little else
running (2026-12-01): 3 to 4 minutes per interpreter, most of it callgrind
running the 1000-import scripts at about 70M instructions a second, and 3
minutes of scaling on the first, where autowrapt with 5000 distributions
alone is 40 seconds. Other jobs on the machine slow it down, as valgrind
runs one process at a time.

What it does (all under --workdir, default target/bench, rebuilt every run):

1. `cargo build --release` of the CLI (which embeds the native bootstrap),
   unless --wrapt-install names a binary.
2. For each --python interpreter (CPython >= 3.9 or PyPy), its own virtual
   environments, each holding the same N synthetic distributions (a package
   and a .dist-info with METADATA, RECORD, WHEEL, top_level.txt and, for
   most, a realistic entry_points.txt) plus `bench-patches`, one patch
   distribution whose group `bench.patches` has three targets that no
   measured command imports:
     bare           nothing else
     autowrapt      autowrapt==2.0.0 and wrapt==2.5.2 from PyPI (optional
                    on PyPy: measured when it installs)
     pth            `wrapt-install --venv` (the default mode)
     sitecustomize  `wrapt-install --venv --mode sitecustomize`
     start          `wrapt-install --venv --mode start` (a PEP 829 `.start`
                    entry point; CPython >= 3.15 only)
   (--modes chooses which of the last three; a mode that fails to install
   is left out and the report says why), and, to see what a `.pth` file
   costs by itself and what ours adds where one is already present:
     bare+other     the bare venv plus one comment-only `.pth`, as many real
                    environments hold (`distutils-precedence.pth`, editable
                    installs)
     MODE+other     each wrapt-install venv plus the same `.pth`
     bare+start     on CPython >= 3.15, the bare venv plus a `.start` file
                    whose entry point does nothing: the floor of PEP 829's
                    mechanism, which `--mode start` pays (and the default
                    mode from 3.18)
   The measured interpreter needs no pip: pip runs from the interpreter
   running this script, downloading the wheels for the measured
   interpreter's tags and installing them with `--target` into the venv's
   site-packages (`pip --python` would run pip 23.2's code under the
   measured interpreter, which fails on 3.15).
3. Instructions with `valgrind --tool=callgrind` (deterministic, unlike time
   on a shared machine), as ratios to the bare venv of the same interpreter:
     idle       `python -c pass`, nothing enabled
     kill       `python -c pass` with WRAPT_PATCHES=0 (ours only)
     enabled    `python -c pass` with the group enabled
                (AUTOWRAPT_BOOTSTRAP / WRAPT_PATCHES=bench.patches)
     imports    the finder's cost per import: a script importing 1000 fresh
                small modules, minus the same script importing none, in each
                venv with the group enabled; compared to the same difference
                in the bare venv; likewise 1000 failing imports
   plus, on CPython, the pure-Python fallback (WRAPT_PATCHES_PURE=1) in the
   default mode's venv. On PyPy the fallback is what serves every mode (PyPy
   cannot load the abi3 module), so its columns compare with CPython's
   fallback. Callgrind runs PyPy fine: its start is RPython-compiled C
   interpreting app-level code, and with the environment fixed the counts
   repeat to the instruction; the 1000 imports run under the JIT, whose
   compiling is counted as the work it is.
4. Wall-clock (hyperfine when installed, else an interleaved loop here) and
   peak RSS (GNU time) ratios over repeated runs.
5. Enabled startup as the number of distributions grows (--scaling), on one
   interpreter (--scaling-python, default the first): it is the slowest part.
6. Install time: `wrapt-install` into a fresh venv against
   `pip install autowrapt==2.0.0` (this script's pip, as above, from the
   wheels downloaded beforehand, so the network is not measured).

The report starts with one table across interpreters (idle, enabled and
1000 imports per venv kind), then native against fallback, then a section
per interpreter; results.json holds every number per interpreter.

Every measured command runs with a minimal environment (PATH, HOME,
PYTHONHASHSEED=0, LC_ALL=C.UTF-8: a UTF-8 locale, as on most systems; under
LC_ALL=C every .pth file also imports encodings.ascii) and after one
unmeasured warm-up run, so that every venv has its bytecode caches written.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUP = "bench.patches"
TARGETS = ("bench_target_alpha", "bench_target_beta", "bench_target_gamma")
IMPORTS = 1000
AUTOWRAPT = ("autowrapt==2.0.0", "wrapt==2.5.2")
MODES = ("pth", "sitecustomize", "start")
DEFAULT_PYTHONS = (
    "/root/.pyenv/versions/3.12.1/bin/python3.12",  # the historical baseline
    "/opt/newer-pythons/bin/python3.14",
    "/opt/newer-pythons/bin/python3.15",
    "/usr/bin/pypy3",  # the fallback's own interpreter
)
OTHER_PTH = "bench_other.pth"
OTHER_START = ("bench_other.start", "bench_noop:run", "bench_noop.py", "def run():\n    pass\n")
# Column titles, in report order; "fallback" is the default mode's venv
# with WRAPT_PATCHES_PURE=1.
TITLES = {
    "autowrapt": "autowrapt 2.0.0 + wrapt 2.5.2",
    "pth": "wrapt-install, `--mode pth` (default)",
    "sitecustomize": "wrapt-install, `--mode sitecustomize`",
    "start": "wrapt-install, `--mode start`",
    "fallback": "wrapt-install, `--mode pth`, fallback (`WRAPT_PATCHES_PURE=1`)",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(command, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(part) for part in command], **kwargs)


# ---------------------------------------------------------------- fixtures


def synthetic_distribution(site, index):
    """One realistic installed distribution: a package and its .dist-info."""
    name = "synth_pkg_%04d" % index
    version = "%d.%d.%d" % (1 + index % 7, index % 13, index % 5)
    package = site / name
    package.mkdir()
    (package / "__init__.py").write_text('"""%s"""\n__version__ = "%s"\n' % (name, version))
    info = site / ("%s-%s.dist-info" % (name, version))
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: synthetic distribution %d\n"
        "Requires-Python: >=3.8\nClassifier: Programming Language :: Python :: 3\n"
        "Requires-Dist: requests>=2\nRequires-Dist: pytest; extra == 'test'\n\n%s\n"
        % (name.replace("_", "-"), version, index, "Long description. " * 40)
    )
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "top_level.txt").write_text(name + "\n")
    (info / "INSTALLER").write_text("pip\n")
    # About two thirds of real distributions declare entry points; most
    # only console_scripts, some plugins for other tools.
    sections = []
    if index % 3 != 0:
        sections.append(
            "[console_scripts]\n%s = %s.cli:main\n%s-admin = %s.admin:main\n"
            % (name.replace("_", "-"), name, name.replace("_", "-"), name)
        )
    if index % 5 == 1:
        sections.append("[pytest11]\n%s = %s.pytest_plugin\n" % (name, name))
    if index % 7 == 2:
        sections.append(
            "[%s.backends]\njson = %s.backends.json:JsonBackend\nyaml = %s.backends.yaml:YamlBackend [yaml]\n"
            % (name, name, name)
        )
    if index % 11 == 3:
        sections.append("[flake8.extension]\nX%03d = %s.flake8:Checker\n" % (index % 1000, name))
    if sections:
        (info / "entry_points.txt").write_text("\n".join(sections))
    (info / "RECORD").write_text(
        "%s/__init__.py,sha256=AAAA,40\n%s/METADATA,,\n%s/RECORD,,\n" % (name, info.name, info.name)
    )


def patch_distribution(site):
    package = site / "bench_patches"
    package.mkdir()
    (package / "__init__.py").write_text("def patch(module):\n    module.patched = True\n")
    info = site / "bench_patches-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-patches\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[%s]\n%s" % (GROUP, "".join("%s = bench_patches:patch\n" % target for target in TARGETS))
    )
    (info / "RECORD").write_text("")


def set_distributions(site, count):
    """Make site hold exactly `count` synthetic distributions."""
    for child in site.iterdir():
        if child.name.startswith("synth_pkg_"):
            shutil.rmtree(child)
    for index in range(count):
        synthetic_distribution(site, index)


def import_fixture(directory):
    """IMPORTS small, fresh top-level modules and the script importing them."""
    modules = directory / "modules"
    modules.mkdir(parents=True)
    for index in range(IMPORTS):
        (modules / ("bench_mod_%04d.py" % index)).write_text(
            '"""Module %d."""\n\nVALUE = %d\n\n\ndef function(x):\n    return x + VALUE\n\n\n'
            "class Thing:\n    def method(self):\n        return function(1)\n" % (index, index)
        )
    script = directory / "imports.py"
    script.write_text(
        "import sys\n"
        "sys.path.insert(0, %r)\n"
        "if sys.argv[2:] == ['missing']:\n"
        "    for index in range(int(sys.argv[1])):\n"
        "        try:\n"
        "            __import__('bench_missing_%%04d' %% index)\n"
        "        except ImportError:\n"
        "            pass\n"
        "else:\n"
        "    for index in range(int(sys.argv[1])):\n"
        "        __import__('bench_mod_%%04d' %% index)\n" % str(modules)
    )
    return script


# ------------------------------------------------------------ interpreters

PROBE = r"""
import json, os, platform, sys, sysconfig
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION")
except (AttributeError, ValueError, OSError):
    libc = None
pypy = getattr(sys, "pypy_version_info", None)
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:2]),
    "soabi": sysconfig.get_config_var("SOABI"),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "platform": sysconfig.get_platform(),
    "libc": libc,
    "pypy": pypy and "%d.%d.%d" % pypy[:3],
}))
"""


class Interpreter:
    """A measured interpreter, asked once what it is."""

    def __init__(self, executable):
        self.executable = executable
        info = json.loads(run([executable, "-I", "-c", PROBE], capture_output=True, text=True).stdout)
        self.info = info
        self.implementation = info["implementation"]
        self.version_info = tuple(info["version_info"])
        if self.implementation == "cpython":
            self.label = "CPython %s" % info["version"]
        elif self.implementation == "pypy":
            self.label = "PyPy %s (PyPy %s)" % (info["version"], info["pypy"])
        else:
            sys.exit("%s: %s is neither CPython nor PyPy, which wrapt-install serves" % (executable, self.implementation))
        self.key = "%s-%s" % (self.implementation, info["version"])

    @property
    def cpython(self):
        return self.implementation == "cpython"

    def serves_mode(self, mode):
        # PEP 829's `.start` files exist from CPython 3.15 on.
        return mode != "start" or (self.cpython and self.version_info >= (3, 15))

    def pip_tag_options(self):
        """pip options that choose wheels for this interpreter, not for the
        one running pip. pip widens neither manylinux_2_X nor the glibc
        version by itself, so every compatible platform tag is listed."""
        major, minor = self.version_info
        if self.cpython:
            implementation = "cp"
            abi = "cp%d%d%s" % (major, minor, "t" if self.info["free_threaded"] else "")
        else:
            implementation, abi = "pp", self.info["soabi"].replace("-", "_")  # pypy39-pp73: pypy39_pp73
        arch = self.info["platform"].split("-", 1)[1].replace("-", "_").replace(".", "_")
        platforms = []
        libc = self.info["libc"] or ""
        if libc.startswith("glibc "):
            glibc = int(libc.split()[1].split(".")[1])
            platforms += ["manylinux_2_%d_%s" % (version, arch) for version in range(glibc, 4, -1)]
            platforms += ["%s_%s" % (legacy, arch) for legacy, needs in
                          (("manylinux2014", 17), ("manylinux2010", 12), ("manylinux1", 5)) if glibc >= needs]
        platforms.append("linux_" + arch)
        options = ["--only-binary=:all:", "--python-version", "%d.%d" % (major, minor),
                   "--implementation", implementation, "--abi", abi]
        for tag in platforms:
            options += ["--platform", tag]
        return options


def pip(*arguments):
    """pip of the interpreter running this script: the measured one may have
    none (Debian's 3.14 and 3.15 here)."""
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]


# ------------------------------------------------------------ environments


class Venv:
    def __init__(self, path):
        self.path = path
        self.python = path / "bin" / "python"
        self._site = None

    def site(self):
        if self._site is None:
            output = run(
                [self.python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
            ).stdout
            self._site = Path(output.strip())
        return self._site


def create_venv(interpreter, path):
    run([interpreter.executable, "-m", "venv", "--without-pip", path])
    return Venv(path)


def venv_path(workdir, kind):
    """One length for every compared venv's path: a start hashes and copies
    its sys.path strings over and over (about 2.4k instructions per
    character on CPython 3.12), which would otherwise count as the cost of
    a longer venv name."""
    return workdir / ("venv-" + kind.replace("+", "-")).ljust(len("venv-sitecustomize-other"), "_")


def pip_install_autowrapt(interpreter, venv, wheels, *requirements):
    """Install from the local wheels as pip's own install does (same files,
    dist-info and RECORD), but run by this script's pip with the measured
    interpreter's tags."""
    run(pip("install", "-q", "--root-user-action=ignore", "--no-index", "--find-links", wheels,
            "--target", venv.site(), *interpreter.pip_tag_options(), *requirements),
        stdout=subprocess.DEVNULL)


def download_wheels(interpreter, directory):
    """autowrapt's wheels for this interpreter, or the reason there are none.

    wrapt 2.5.2 has binary wheels for CPython 3.9-3.15 (and 3.14t, 3.15t) on
    manylinux, and a pure-Python wheel that everything else gets, PyPy
    included."""
    result = run(pip("download", "-q", "--dest", directory, *interpreter.pip_tag_options(), *AUTOWRAPT),
                 check=False, capture_output=True, text=True)
    if result.returncode != 0:
        return None, (result.stderr.strip().splitlines() or ["pip download failed"])[-1]
    return directory, None


def copy_venv(venvs, base, kind, workdir):
    """A copy of venv `base` as `kind`; its site-packages."""
    path = venv_path(workdir, kind)
    shutil.copytree(venvs[base].path, path, symlinks=True)
    venvs[kind] = Venv(path)
    return venvs[kind].site()


def make_venvs(args, interpreter, workdir, wheels):
    """The venvs of one interpreter, and why any kind asked for is missing."""
    venvs = {"bare": create_venv(interpreter, venv_path(workdir, "bare"))}
    missing = {}
    facts = {}
    if wheels is not None:
        venv = create_venv(interpreter, venv_path(workdir, "autowrapt"))
        pip_install_autowrapt(interpreter, venv, wheels, *AUTOWRAPT)
        venvs["autowrapt"] = venv
        facts["autowrapt_wheels"] = sorted(path.name for path in wheels.glob("*.whl"))
        # Without its C extension wrapt runs as pure Python: a different product.
        facts["wrapt_extension"] = run([venv.python, "-I", "-c", "import wrapt._wrappers"], check=False,
                                       capture_output=True).returncode == 0
    for mode in args.modes:
        if not interpreter.serves_mode(mode):
            missing[mode] = "`.start` files exist from CPython 3.15 on"
            continue
        venv = create_venv(interpreter, venv_path(workdir, mode))
        result = run([args.wrapt_install, "--venv", venv.path, "-q", "--mode", mode], check=False,
                     capture_output=True, text=True)
        if result.returncode != 0:
            missing[mode] = "`wrapt-install --mode %s` failed: %s" % (
                mode, (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[0])
            shutil.rmtree(venv.path)
            continue
        venvs[mode] = venv
    ours = [kind for kind in MODES if kind in venvs]
    # The same venvs again with one more, comment-only .pth file in them.
    for base in ["bare"] + ours:
        site = copy_venv(venvs, base, base + "+other", workdir)
        (site / OTHER_PTH).write_text("# another distribution's .pth file: a comment only\n")
    if interpreter.serves_mode("start"):
        # What any .start file costs, whatever its entry point does.
        site = copy_venv(venvs, "bare", "bare+start", workdir)
        start, entry_point, module, source = OTHER_START
        (site / start).write_text(entry_point + "\n")
        (site / module).write_text(source)
    for venv in venvs.values():
        patch_distribution(venv.site())
        set_distributions(venv.site(), args.dists)
    return venvs, missing, facts


def environment(**extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONHASHSEED": "0",
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra)
    return env


def enable(kind):
    """The variables that enable the patch group in a venv of this kind."""
    base = kind.split("+")[0]
    if base == "bare":
        return {}
    if base == "autowrapt":
        return {"AUTOWRAPT_BOOTSTRAP": GROUP}
    return {"WRAPT_PATCHES": GROUP}


PURE = {"WRAPT_PATCHES_PURE": "1"}


def main_kinds(venvs):
    return [kind for kind in ("bare", "autowrapt") + MODES if kind in venvs]


def fallback_venv(interpreter, venvs):
    """The venv whose fallback is measured: on CPython the default mode's
    (the native module serves otherwise); on PyPy none, since the fallback
    is what serves every mode there."""
    return venvs["pth"] if interpreter.cpython and "pth" in venvs else None


# ------------------------------------------------------------ measurement


def instructions(args, command, env, out):
    """Instructions executed by `command` under callgrind (the minimum of
    --callgrind-runs runs: the interpreter's address-space layout moves a
    few thousand instructions between runs)."""
    counts = []
    for attempt in range(args.callgrind_runs):
        path = out.with_name("%s.%d.out" % (out.name, attempt))
        path.parent.mkdir(exist_ok=True)
        run(["valgrind", "--tool=callgrind", "-q", "--callgrind-out-file=%s" % path] + command,
            env=env, stdout=subprocess.DEVNULL)
        counts.append(callgrind_total(path))
    return min(counts)


def callgrind_total(path):
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError("no totals in %s" % path)


def peak_rss_kib(args, command, env, runs):
    """Median peak RSS in KiB, measured by GNU time.

    Not with wait4 from here: Linux carries a process's peak RSS across
    fork and exec, so every child of this (large) Python process would
    report at least this process's own size. GNU time is small.
    """
    values = []
    out = args.workdir / "time.out"
    for _ in range(runs):
        run(["/usr/bin/time", "-f", "%M", "-o", out] + command, env=env, stdout=subprocess.DEVNULL)
        values.append(int(out.read_text().split()[-1]))
    return statistics.median(values)


def wall_clock(args, commands, export):
    """Median wall-clock seconds of each (label, command, env)."""
    if shutil.which("hyperfine") and not args.no_hyperfine:
        hyperfine = ["hyperfine", "-N", "--style", "none", "--warmup", "5",
                     "--runs", str(args.runs), "--export-json", str(export)]
        for label, command, env in commands:
            # hyperfine passes one environment to all commands: use env(1).
            assignments = ["%s=%s" % item for item in env.items()]
            hyperfine += ["-n", label, " ".join(["env", "-i"] + assignments + [str(p) for p in command])]
        run(hyperfine, stdout=subprocess.DEVNULL)
        results = json.loads(export.read_text())["results"]
        return {result["command"]: result["median"] for result in results}, "hyperfine %s" % (
            run(["hyperfine", "--version"], capture_output=True, text=True).stdout.split()[-1])
    samples = {label: [] for label, _, _ in commands}
    for _ in range(args.runs):  # interleaved: drift on a shared machine hits all alike
        for label, command, env in commands:
            started = time.perf_counter()
            run(command, env=env, stdout=subprocess.DEVNULL)
            samples[label].append(time.perf_counter() - started)
    return {label: statistics.median(values) for label, values in samples.items()}, "interleaved loop"


def startup_cases(interpreter, venvs, script):
    """(label, venv, argv, extra environment) of every callgrind case."""
    cases = []
    imports = [("imports0", [script, "0"]), ("imports%d" % IMPORTS, [script, str(IMPORTS)]),
               ("missing%d" % IMPORTS, [script, str(IMPORTS), "missing"])]
    for kind in main_kinds(venvs):
        venv = venvs[kind]
        cases.append((kind + ":idle", venv, ["-c", "pass"], {}))
        if kind in MODES:
            cases.append((kind + ":kill", venv, ["-c", "pass"], {"WRAPT_PATCHES": "0"}))
        if kind != "bare":  # enabling nothing in the bare venv is its idle start
            cases.append((kind + ":enabled", venv, ["-c", "pass"], enable(kind)))
        cases += [(kind + ":" + case, venv, argv, enable(kind)) for case, argv in imports]
    fallback = fallback_venv(interpreter, venvs)
    if fallback is not None:
        cases.append(("fallback:enabled", fallback, ["-c", "pass"], dict(enable("pth"), **PURE)))
        cases += [("fallback:" + case, fallback, argv, dict(enable("pth"), **PURE)) for case, argv in imports]
    for kind in venvs:
        if "+" in kind:
            cases.append((kind + ":idle", venvs[kind], ["-c", "pass"], {}))
            if not kind.startswith("bare"):
                cases.append((kind + ":enabled", venvs[kind], ["-c", "pass"], enable(kind)))
    return cases


def measure_startup(args, workdir, cases):
    results = {}
    for number, (label, venv, argv, extra) in enumerate(cases, 1):
        command = [venv.python] + argv
        env = environment(**extra)
        run(command, env=env, stdout=subprocess.DEVNULL)  # warm-up: bytecode caches
        log("  callgrind %d/%d %s" % (number, len(cases), label))
        results[label] = instructions(args, command, env, workdir / "callgrind" / label.replace(":", "-"))
    return results


def import_overhead(results, kind, case="imports"):
    """Instructions of the IMPORTS imports alone (the script minus the same
    script importing nothing), in venv `kind` and in the bare venv."""
    own = results["%s:%s%d" % (kind, case, IMPORTS)] - results[kind + ":imports0"]
    bare = results["bare:%s%d" % (case, IMPORTS)] - results["bare:imports0"]
    return own, bare


def measure_wall(args, workdir, cases):
    chosen = [case for case in cases if "+" not in case[0] and case[0].split(":")[1] in ("idle", "enabled")]
    commands = [(label, [venv.python] + argv, environment(**extra)) for label, venv, argv, extra in chosen]
    log("  wall-clock: %d commands x %d runs" % (len(commands), args.runs))
    wall, tool = wall_clock(args, commands, workdir / "hyperfine.json")
    memory = None
    if os.path.exists("/usr/bin/time"):
        log("  peak RSS")
        memory = {label: peak_rss_kib(args, command, env, max(5, args.runs // 5))
                  for label, command, env in commands}
    else:
        log("  no /usr/bin/time (apt-get install time): peak RSS skipped")
    return wall, memory, tool


def measure_scaling(args, interpreter, venvs, workdir):
    kinds = main_kinds(venvs)
    fallback = fallback_venv(interpreter, venvs)
    rows = []
    for dists in args.scaling:
        log("  scaling: %d distributions" % dists)
        for kind in kinds:
            set_distributions(venvs[kind].site(), dists)
        row = {"dists": dists}
        measured = [(kind, venvs[kind], enable(kind)) for kind in kinds]
        if fallback is not None:
            measured.append(("fallback", fallback, dict(enable("pth"), **PURE)))
        for name, venv, extra in measured:
            command = [venv.python, "-c", "pass"]
            env = environment(**extra)
            run(command, env=env, stdout=subprocess.DEVNULL)
            row[name] = instructions(args, command, env, workdir / "callgrind" / ("scaling-%d-%s" % (dists, name)))
        rows.append(row)
    for kind in kinds:
        set_distributions(venvs[kind].site(), args.dists)
    return rows


def measure_install(args, interpreter, workdir, wheels):
    """Seconds to install into a fresh venv (created outside the timing)."""
    times = {"wrapt-install": []}
    if wheels is not None:
        times["pip install autowrapt"] = []
    for _ in range(args.install_runs):
        for label in times:
            path = Path(tempfile.mkdtemp(dir=workdir, prefix="install-"))
            venv = create_venv(interpreter, path / "venv")
            venv.site()  # asked outside the timing
            started = time.perf_counter()
            if label == "wrapt-install":
                run([args.wrapt_install, "--venv", venv.path, "-q"], stdout=subprocess.DEVNULL)
            else:
                pip_install_autowrapt(interpreter, venv, wheels, AUTOWRAPT[0])
            times[label].append(time.perf_counter() - started)
            shutil.rmtree(path)
    return {label: statistics.median(values) for label, values in times.items()}


def measure_interpreter(args, interpreter, script, scaling):
    """Everything about one interpreter, in its own directory."""
    started = time.perf_counter()
    workdir = args.workdir / interpreter.key
    workdir.mkdir()
    log("%s (%s)" % (interpreter.label, interpreter.executable))
    wheels, autowrapt_problem = download_wheels(interpreter, workdir / "wheels")
    if autowrapt_problem and interpreter.cpython:
        sys.exit("%s: autowrapt's wheels: %s" % (interpreter.label, autowrapt_problem))
    venvs, missing, facts = make_venvs(args, interpreter, workdir, wheels)
    if autowrapt_problem:
        missing["autowrapt"] = "its wheels did not download: " + autowrapt_problem
    # Bytecode for the import fixture, so each venv measures importing, not compiling.
    run([interpreter.executable, "-m", "compileall", "-q", script.parent / "modules"], stdout=subprocess.DEVNULL)
    cases = startup_cases(interpreter, venvs, script)
    data = {
        "python": str(interpreter.executable),
        "label": interpreter.label,
        "probe": interpreter.info,
        "venvs": {kind: str(venv.path) for kind, venv in venvs.items()},
        "not_measured": missing,
        **facts,
        "instructions": measure_startup(args, workdir, cases),
        "wall": None, "memory": None, "wall_tool": None, "scaling": [], "install": None,
    }
    if not args.no_wall:
        data["wall"], data["memory"], data["wall_tool"] = measure_wall(args, workdir, cases)
    if scaling:
        data["scaling"] = measure_scaling(args, interpreter, venvs, workdir)
    if not args.no_install:
        log("  install time")
        data["install"] = measure_install(args, interpreter, workdir, wheels)
    data["minutes"] = (time.perf_counter() - started) / 60
    return data


# ------------------------------------------------------------------ report


def count(value):
    return "{:,}".format(value)


def pct(value, base):
    return "%+.2f %%" % ((value / base - 1.0) * 100.0)


def ratio(value, base):
    return "%.2fx" % (value / base)


def delta(value, base):
    """% and instructions over base: `.pth` costs are compared across bases."""
    return "%s (%+dk)" % (pct(value, base), round((value - base) / 1000))


def columns(data):
    """The measured kinds of one interpreter's results, in report order."""
    return [kind for kind in TITLES if ("%s:idle" % kind in data["instructions"]
                                        or "%s:enabled" % kind in data["instructions"])]


def summary_cells(data, kind):
    """Idle, enabled and import overhead of one kind, over bare."""
    results = data["instructions"]
    if "%s:enabled" % kind not in results:
        return ["—"] * 3
    idle = pct(results[kind + ":idle"], results["bare:idle"]) if kind + ":idle" in results else "—"
    own, bare = import_overhead(results, kind)
    return [idle, pct(results[kind + ":enabled"], results["bare:idle"]), pct(own, bare)]


def report_summary(add, runs):
    kinds = [kind for kind in TITLES if any(kind in columns(data) for data in runs)]
    add("## Summary: instructions over bare (callgrind)")
    add("")
    add("Each interpreter against its own bare venv. On PyPy every wrapt-install mode is served by the "
        "pure-Python fallback (it cannot load the abi3 module), so compare its columns with CPython's "
        "fallback column. Budgets (set on CPython 3.12): idle <= +1.2 %%, enabled <= +4 %%, "
        "%d imports <= +0.5 %%." % IMPORTS)
    add("")
    add("| interpreter | case | bare | " + " | ".join(TITLES[kind] for kind in kinds) + " |")
    add("| --- | --- | --- |" + " --- |" * len(kinds))
    for data in runs:
        results = data["instructions"]
        cells = {kind: summary_cells(data, kind) for kind in kinds}
        _, bare_imports = import_overhead(results, "bare")
        bares = [count(results["bare:idle"]), count(results["bare:idle"]), "%s (%s per import)" % (
            count(bare_imports), count(bare_imports // IMPORTS))]
        for row, case in enumerate(("idle", "enabled", "%d imports" % IMPORTS)):
            served = "native" if data["probe"]["implementation"] == "cpython" else "the fallback serves"
            first = "%s (%s)" % (data["label"], served) if row == 0 else ""
            add("| %s | %s | %s | %s |" % (first, case, bares[row], " | ".join(cells[kind][row] for kind in kinds)))
    add("")


def report_native_fallback(add, runs):
    """The fallback's cost next to the native module's, on every interpreter."""
    rows = []
    for data in runs:
        results = data["instructions"]
        bare = results["bare:idle"]
        served = [("native", "pth"), ("fallback", "fallback")] if data["probe"]["implementation"] == "cpython" \
            else [("fallback", kind) for kind in MODES if kind in columns(data)]
        for what, kind in served:
            if kind + ":enabled" not in results:
                continue
            own, bare_imports = import_overhead(results, kind)
            rows.append((data["label"], "%s (%s)" % (what, "`--mode pth`" if kind == "fallback" else "`--mode %s`" % kind),
                         results[kind + ":enabled"] - bare, pct(results[kind + ":enabled"], bare), pct(own, bare_imports)))
    if not rows:
        return
    add("## Native against fallback")
    add("")
    add("Enabled startup and %d imports over each interpreter's bare venv. On CPython the fallback is "
        "forced with `WRAPT_PATCHES_PURE=1`; on PyPy it is what serves." % IMPORTS)
    add("")
    add("| interpreter | bootstrap | enabled, instructions over bare | enabled, %% over bare | %d imports over bare |" % IMPORTS)
    add("| --- | --- | --- | --- | --- |")
    for label, what, extra, percent, imports in rows:
        add("| %s | %s | %s | %s | %s |" % (label, what, count(extra), percent, imports))
    add("")
    # A difference, not a ratio of overheads: where both pay a floor that is
    # not theirs (a `.start` file's, on 3.15), a ratio would flatten.
    for data in runs:
        results = data["instructions"]
        if "fallback:enabled" in results and "pth:enabled" in results:
            add("%s: the fallback's enabled start costs %s instructions more than the native module's.  " % (
                data["label"], count(results["fallback:enabled"] - results["pth:enabled"])))
    add("")


def report_interpreter(add, args, data):
    results = data["instructions"]
    kinds = columns(data)
    add("## %s (`%s`)" % (data["label"], data["python"]))
    add("")
    if data["probe"]["implementation"] != "cpython":
        add("PyPy cannot load the abi3 module: every wrapt-install mode here is served by the pure-Python "
            "fallback, so there is no separate fallback column.")
        add("")
    if "autowrapt_wheels" in data:
        add("autowrapt venv: %s; wrapt's C extension %s." % (
            ", ".join("`%s`" % name for name in data["autowrapt_wheels"]),
            "loads" if data["wrapt_extension"] else
            "is absent (no binary wheel for this interpreter: the pure wheel, wrapt runs as pure Python)"))
        add("")
    for kind, reason in data["not_measured"].items():
        add("Not measured: %s — %s." % (TITLES.get(kind, kind), reason))
    if data["not_measured"]:
        add("")
    bare = results["bare:idle"]
    add("### Instructions (callgrind), ratio to the bare venv")
    add("")
    add("| case | budget | bare | " + " | ".join(TITLES[kind] for kind in kinds) + " |")
    add("| --- | --- | --- |" + " --- |" * len(kinds))

    def row(case, budget, base, cell):
        add("| %s | %s | %s | %s |" % (case, budget, base, " | ".join(cell(kind) for kind in kinds)))

    def single(case):
        return lambda kind: pct(results["%s:%s" % (kind, case)], bare) if "%s:%s" % (kind, case) in results else "—"

    row("installed, nothing enabled (`-c pass`)", "<= +1.2 %", count(bare), single("idle"))
    row("kill switch (`WRAPT_PATCHES=0`)", "—", count(bare), single("kill"))
    row("one group enabled, 3 targets never imported", "<= +4 %", count(bare), single("enabled"))
    for case, title, budget in (("imports", "%d fresh imports, group enabled (finder active)" % IMPORTS, "<= +0.5 %"),
                                ("missing", "%d failing imports (`ModuleNotFoundError`), group enabled" % IMPORTS, "—")):
        _, base = import_overhead(results, "bare", case)
        row(title, budget, "%s (%s per import)" % (count(base), count(base // IMPORTS)),
            lambda kind: pct(import_overhead(results, kind, case)[0], base))
    add("")
    add("Raw counts: " + ", ".join("%s %s" % (label, count(value)) for label, value in sorted(results.items())))
    add("")

    ours = [kind for kind in MODES if kind in kinds]
    if "bare+other:idle" in results and ours:
        floor = results["bare+other:idle"]
        add("### A `.pth` file's floor, and ours beside another `.pth`")
        add("")
        add("A comment-only `.pth` in the bare venv costs %s over bare: site lists, opens and reads it "
            "(in a venv, site-packages is processed twice). Real environments often hold one already; "
            "the rows marked *beside* compare each venv plus that same `.pth` against bare plus it." % delta(floor, bare))
        add("")
        if "bare+start:idle" in results:
            add("A `.start` file whose entry point does nothing (`%s`) costs %s over bare: site resolves "
                "entry points with `pkgutil.resolve_name`, importing pkgutil and re for the first one."
                % (OTHER_START[1], delta(results["bare+start:idle"], bare)))
            add("")
        add("| case | " + " | ".join(TITLES[kind] for kind in ours) + " |")
        add("| --- |" + " --- |" * len(ours))
        for case in ("idle", "enabled"):
            add("| %s, alone (over bare) | %s |" % (case, " | ".join(
                delta(results["%s:%s" % (kind, case)], bare) for kind in ours)))
            add("| %s, beside a comment-only `.pth` (over bare + it) | %s |" % (case, " | ".join(
                delta(results["%s+other:%s" % (kind, case)], floor) for kind in ours)))
        add("")

    if data["wall"]:
        wall, memory = data["wall"], data["memory"]
        walled = [kind for kind in kinds if kind + ":enabled" in wall]
        add("### Wall-clock (median, %s, %d runs) and peak RSS (median), ratio to the bare venv"
            % (data["wall_tool"], args.runs))
        add("")
        add("| case | " + " | ".join(TITLES[kind] for kind in walled) + " |")
        add("| --- |" + " --- |" * len(walled))
        for case in ("idle", "enabled"):
            for measured, what, unit, scale in ((wall, "time", "ms", 1000), (memory, "peak RSS", "MiB", 1 / 1024)):
                if measured is None:
                    continue
                base = measured["bare:idle"]
                add("| %s, %s (bare %.1f %s) | %s |" % (case, what, base * scale, unit, " | ".join(
                    ratio(measured["%s:%s" % (kind, case)], base) if "%s:%s" % (kind, case) in measured else "—"
                    for kind in walled)))
        add("")

    if data["scaling"]:
        scaled = [kind for kind in kinds if kind in data["scaling"][0]]
        add("### Enabled startup as distributions grow (instructions over bare)")
        add("")
        add("| distributions | bare | " + " | ".join(TITLES[kind] for kind in scaled) + " |")
        add("| --- | --- |" + " --- |" * len(scaled))
        for line in data["scaling"]:
            add("| %d | %s | %s |" % (line["dists"], count(line["bare"]),
                                      " | ".join(pct(line[kind], line["bare"]) for kind in scaled)))
        add("")

    if data["install"]:
        install = data["install"]
        add("### Install time into a fresh venv (median of %d; wheels local, no network)" % args.install_runs)
        add("")
        if "pip install autowrapt" in install:
            add("| wrapt-install | pip install autowrapt==2.0.0 | ratio |")
            add("| --- | --- | --- |")
            add("| %.0f ms | %.0f ms | %.2fx |" % (
                install["wrapt-install"] * 1000, install["pip install autowrapt"] * 1000,
                install["wrapt-install"] / install["pip install autowrapt"]))
        else:
            add("wrapt-install: %.0f ms" % (install["wrapt-install"] * 1000))
        add("")


def report(args, runs, minutes):
    lines = []
    add = lines.append
    valgrind = run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    add("Command: `%s`  " % args.command_line)
    add("%s; %s %s, %d cores, %s; %d synthetic distributions + 1 patch group of %d targets; %.0f min  " % (
        datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.system(), platform.machine(),
        os.cpu_count(), valgrind, args.dists, len(TARGETS), minutes))
    add("Interpreters: " + ", ".join("%s (`%s`)" % (data["label"], data["python"]) for data in runs))
    add("")
    report_summary(add, runs)
    report_native_fallback(add, runs)
    for data in runs:
        report_interpreter(add, args, data)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", type=Path, action="append",
                        help="an interpreter to measure, repeatable (default: %s)" % ", ".join(DEFAULT_PYTHONS))
    parser.add_argument("--modes", type=lambda text: text.split(","), default=list(MODES),
                        help="wrapt-install modes to measure (default pth,sitecustomize,start; "
                             "start only on CPython >= 3.15)")
    parser.add_argument("--dists", type=int, default=200, help="synthetic distributions per venv (default 200)")
    parser.add_argument("--scaling", type=lambda text: [int(x) for x in text.split(",")], default=[50, 200, 1000, 5000],
                        help="distribution counts for the scaling table (default 50,200,1000,5000)")
    parser.add_argument("--no-scaling", action="store_const", dest="scaling", const=[], help="skip the scaling table")
    parser.add_argument("--scaling-python", type=Path, help="the interpreter to measure scaling on (default: the first)")
    parser.add_argument("--no-wall", action="store_true", help="skip wall-clock and memory")
    parser.add_argument("--no-install", action="store_true", help="skip install timing")
    parser.add_argument("--no-hyperfine", action="store_true", help="time with the built-in loop")
    parser.add_argument("--runs", type=int, default=60, help="wall-clock runs per command")
    parser.add_argument("--callgrind-runs", type=int, default=1,
                        help="callgrind runs per case, the minimum is kept (counts vary by ~0.01 %%)")
    parser.add_argument("--install-runs", type=int, default=5, help="installs timed per interpreter (default 5)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "target" / "bench",
                        help="where everything is made, emptied first (default target/bench)")
    parser.add_argument("--wrapt-install", type=Path, help="use this binary instead of building one")
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args()
    args.command_line = " ".join(["python3", "benches/startup.py"] + sys.argv[1:])
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error("--modes: unknown %s (known: %s)" % (", ".join(sorted(unknown)), ",".join(MODES)))
    args.modes = [mode for mode in MODES if mode in args.modes]

    def executable(path):
        found = shutil.which(str(path))
        if found is None:
            parser.error("no interpreter %s" % path)
        return Path(found).absolute()

    pythons = [executable(path) for path in (args.python or DEFAULT_PYTHONS)]
    scaling_python = executable(args.scaling_python) if args.scaling_python else pythons[0]
    if args.scaling and scaling_python not in pythons:
        parser.error("--scaling-python %s is not one of the --python interpreters" % scaling_python)
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")
    interpreters = [Interpreter(path) for path in pythons]
    keys = [interpreter.key for interpreter in interpreters]
    if len(set(keys)) != len(keys):
        parser.error("--python names one interpreter twice: %s" % ", ".join(keys))

    started = time.perf_counter()
    if args.wrapt_install is None:
        log("cargo build --release")
        run(["cargo", "build", "--release", "--bin", "wrapt-install"], cwd=ROOT)
        args.wrapt_install = ROOT / "target" / "release" / "wrapt-install"
    args.wrapt_install = args.wrapt_install.absolute()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    script = import_fixture(args.workdir / "imports")
    runs = []
    for path, interpreter in zip(pythons, interpreters):
        runs.append(measure_interpreter(args, interpreter, script, args.scaling if path == scaling_python else []))
        # Written as each interpreter finishes, so an interrupted run keeps what it measured.
        (args.workdir / "results.json").write_text(json.dumps(
            {"command": args.command_line, "dists": args.dists, "interpreters": runs}, indent=1))
    text = report(args, runs, (time.perf_counter() - started) / 60)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
