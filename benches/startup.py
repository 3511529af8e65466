#!/usr/bin/env python3
"""The startup benchmark: a bare venv, autowrapt 2.0.0 + wrapt 2.5.2, and
wrapt-install, side by side, in one run.

    python3 benches/startup.py                 # everything, CPython 3.12, 200 dists
    python3 benches/startup.py --python /usr/bin/python3.11 --dists 500 --no-scaling

It is a benchmark, not a test: it asserts nothing and cargo never runs it.

What it does (all under --workdir, default target/bench, rebuilt every run):

1. `cargo build --release` of the CLI (which embeds the native bootstrap).
2. Three virtual environments of one interpreter, each holding the same N
   synthetic distributions (a package and a .dist-info with METADATA, RECORD,
   WHEEL, top_level.txt and, for most, a realistic entry_points.txt) plus
   `bench-patches`, one patch distribution whose group `bench.patches` has
   three targets that no measured command imports:
     bare       nothing else
     autowrapt  `pip install autowrapt==2.0.0 wrapt==2.5.2` (from PyPI)
     ours       `wrapt-install --venv` (activation by a .pth line, the default)
     sitecustomize  `wrapt-install --venv --mode sitecustomize`
3. Instructions with `valgrind --tool=callgrind` (deterministic, unlike time
   on a shared machine), as ratios to the bare venv:
     idle       `python -c pass`, nothing enabled
     enabled    `python -c pass` with the group enabled
                (AUTOWRAPT_BOOTSTRAP / WRAPT_PATCHES=bench.patches)
     imports    the finder's cost per import: a script importing 1000 fresh
                small modules, minus the same script importing none, in each
                venv with the group enabled; compared to the same difference
                in the bare venv
   plus the pure-Python fallback (WRAPT_PATCHES_PURE=1) for the same cases.
4. Wall-clock (hyperfine when installed, else an interleaved loop here) and
   peak RSS (GNU time) ratios over repeated runs.
5. Enabled startup as the number of distributions grows (--scaling).
6. Install time: `wrapt-install` into a fresh venv against
   `pip install autowrapt==2.0.0` (from wheels downloaded beforehand, so the
   network is not measured).

Every measured command runs with a minimal environment (PATH, HOME,
PYTHONHASHSEED=0, LC_ALL=C.UTF-8: a UTF-8 locale,
as on most systems; under LC_ALL=C every .pth file also imports encodings.ascii) and after one unmeasured warm-up run, so that
every venv has its bytecode caches written.
"""

import argparse
import json
import os
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
VENVS = ("bare", "autowrapt", "ours", "sitecustomize")


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


# ------------------------------------------------------------ environments


class Venv:
    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.python = path / "bin" / "python"

    def site(self):
        output = run(
            [self.python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
        ).stdout
        return Path(output.strip())


def make_venvs(args, wheels):
    venvs = {}
    for name in VENVS:
        path = args.workdir / ("venv-" + name)
        run([args.python, "-m", "venv", "--without-pip", path])
        venvs[name] = Venv(name, path)
    # autowrapt: installed by pip the way its users do.
    run(
        [args.python, "-m", "pip", "--python", venvs["autowrapt"].python, "install", "-q",
         "--no-index", "--find-links", wheels, "autowrapt==2.0.0", "wrapt==2.5.2"]
    )
    run([args.wrapt_install, "--venv", venvs["ours"].path, "-q"])
    run([args.wrapt_install, "--venv", venvs["sitecustomize"].path, "-q", "--mode", "sitecustomize"])
    for venv in venvs.values():
        patch_distribution(venv.site())
    return venvs


def download_wheels(args):
    wheels = args.workdir / "wheels"
    run([args.python, "-m", "pip", "download", "-q", "--only-binary=:all:", "--dest", wheels,
         "autowrapt==2.0.0", "wrapt==2.5.2"])
    return wheels


def environment(**extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONHASHSEED": "0",
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra)
    return env


ENABLE = {
    "bare": {},
    "autowrapt": {"AUTOWRAPT_BOOTSTRAP": GROUP},
    "ours": {"WRAPT_PATCHES": GROUP},
    "sitecustomize": {"WRAPT_PATCHES": GROUP},
}


# ------------------------------------------------------------ measurement


def instructions(args, command, env, label):
    """Instructions executed by `command` under callgrind (the minimum of
    --callgrind-runs runs: the interpreter's address-space layout moves a
    few thousand instructions between runs)."""
    counts = []
    for attempt in range(args.callgrind_runs):
        out = args.workdir / "callgrind" / ("%s.%d.out" % (label, attempt))
        out.parent.mkdir(exist_ok=True)
        run(["valgrind", "--tool=callgrind", "-q", "--callgrind-out-file=%s" % out] + command,
            env=env, stdout=subprocess.DEVNULL)
        counts.append(callgrind_total(out))
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


def wall_clock(args, commands):
    """Median wall-clock seconds of each (label, command, env)."""
    if shutil.which("hyperfine") and not args.no_hyperfine:
        export = args.workdir / "hyperfine.json"
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


def pct(value, base):
    return "%+.2f %%" % ((value / base - 1.0) * 100.0)


def ratio(value, base):
    return "%.2fx" % (value / base)


def measure_startup(args, venvs, script):
    results = {}
    pure = {"WRAPT_PATCHES_PURE": "1"}
    cases = []
    for name, venv in venvs.items():
        cases.append((name + ":idle", venv, ["-c", "pass"], {}))
        cases.append((name + ":enabled", venv, ["-c", "pass"], ENABLE[name]))
        cases.append((name + ":imports0", venv, [script, "0"], ENABLE[name]))
        cases.append((name + ":imports%d" % IMPORTS, venv, [script, str(IMPORTS)], ENABLE[name]))
        cases.append((name + ":missing%d" % IMPORTS, venv, [script, str(IMPORTS), "missing"], ENABLE[name]))
    ours = venvs["ours"]
    cases.append(("fallback:enabled", ours, ["-c", "pass"], dict(ENABLE["ours"], **pure)))
    cases.append(("fallback:imports0", ours, [script, "0"], dict(ENABLE["ours"], **pure)))
    cases.append(("fallback:imports%d" % IMPORTS, ours, [script, str(IMPORTS)], dict(ENABLE["ours"], **pure)))
    cases.append(("fallback:missing%d" % IMPORTS, ours, [script, str(IMPORTS), "missing"], dict(ENABLE["ours"], **pure)))
    for label, venv, argv, extra in cases:
        command = [venv.python] + argv
        env = environment(**extra)
        run(command, env=env, stdout=subprocess.DEVNULL)  # warm-up: bytecode caches
        log("callgrind " + label)
        results[label] = instructions(args, command, env, label.replace(":", "-"))
    return results, cases


def import_overhead(results, name, kind="imports"):
    """Instructions of the IMPORTS imports alone (the script minus the same
    script importing nothing), in venv `name` and in the bare venv."""
    own = results["%s:%s%d" % (name, kind, IMPORTS)] - results[name + ":imports0"]
    bare = results["bare:%s%d" % (kind, IMPORTS)] - results["bare:imports0"]
    return own, bare


def measure_wall(args, venvs, cases):
    chosen = [case for case in cases if case[0].split(":")[1] in ("idle", "enabled")]
    commands = [(label, [venv.python] + argv, environment(**extra)) for label, venv, argv, extra in chosen]
    log("wall-clock: %d commands x %d runs" % (len(commands), args.runs))
    wall, tool = wall_clock(args, commands)
    memory = None
    if os.path.exists("/usr/bin/time"):
        log("peak RSS")
        memory = {label: peak_rss_kib(args, command, env, max(5, args.runs // 5))
                  for label, command, env in commands}
    else:
        log("no /usr/bin/time (apt-get install time): peak RSS skipped")
    return wall, memory, tool


def measure_scaling(args, venvs):
    rows = []
    for count in args.scaling:
        log("scaling: %d distributions" % count)
        for venv in venvs.values():
            set_distributions(venv.site(), count)
        row = {"dists": count}
        for name, venv in venvs.items():
            command = [venv.python, "-c", "pass"]
            env = environment(**ENABLE[name])
            run(command, env=env, stdout=subprocess.DEVNULL)
            row[name] = instructions(args, command, env, "scaling-%d-%s" % (count, name))
        env = environment(**dict(ENABLE["ours"], WRAPT_PATCHES_PURE="1"))
        run([venvs["ours"].python, "-c", "pass"], env=env, stdout=subprocess.DEVNULL)
        row["fallback"] = instructions(args, [venvs["ours"].python, "-c", "pass"], env, "scaling-%d-fallback" % count)
        rows.append(row)
    for venv in venvs.values():
        set_distributions(venv.site(), args.dists)
    return rows


def measure_install(args, wheels):
    """Seconds to install into a fresh venv (created outside the timing)."""
    times = {"wrapt-install": [], "pip install autowrapt": []}
    for attempt in range(args.install_runs):
        for label in times:
            path = Path(tempfile.mkdtemp(dir=args.workdir, prefix="install-"))
            run([args.python, "-m", "venv", "--without-pip", path / "venv"])
            if label == "wrapt-install":
                command = [args.wrapt_install, "--venv", path / "venv", "-q"]
            else:
                command = [args.python, "-m", "pip", "--python", path / "venv" / "bin" / "python",
                           "install", "-q", "--no-index", "--find-links", wheels, "autowrapt==2.0.0"]
            started = time.perf_counter()
            run(command, stdout=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - started)
            shutil.rmtree(path)
    return {label: statistics.median(values) for label, values in times.items()}


# ------------------------------------------------------------------ report


def report(args, results, wall, memory, wall_tool, scaling, install):
    lines = []
    add = lines.append
    version = run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                  capture_output=True, text=True).stdout.strip()
    add("Command: `%s`  " % args.command_line)
    add("Interpreter: CPython %s (`%s`); %d synthetic distributions + 1 patch group of %d targets; %s  "
        % (version, args.python, args.dists, len(TARGETS), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    add("")
    add("### Instructions (callgrind), ratio to the bare venv")
    add("")
    add("| case | budget | bare | autowrapt 2.0.0 + wrapt 2.5.2 | wrapt-install, `.pth` (native) "
        "| wrapt-install, `--mode sitecustomize` (native) | wrapt-install, `.pth` (fallback) |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    bare_idle = results["bare:idle"]
    add("| installed, nothing enabled (`-c pass`) | <= +1.2 %% | %s | %s | **%s** | **%s** | — |" % (
        "{:,}".format(bare_idle), pct(results["autowrapt:idle"], bare_idle), pct(results["ours:idle"], bare_idle),
        pct(results["sitecustomize:idle"], bare_idle)))
    bare_enabled = results["bare:enabled"]
    add("| one group enabled, 3 targets never imported | <= +4 %% | %s | %s | **%s** | **%s** | %s |" % (
        "{:,}".format(bare_enabled), pct(results["autowrapt:enabled"], bare_enabled),
        pct(results["ours:enabled"], bare_enabled), pct(results["sitecustomize:enabled"], bare_enabled),
        pct(results["fallback:enabled"], bare_enabled)))
    kinds = ("autowrapt", "ours", "sitecustomize", "fallback")
    own = {name: import_overhead(results, name) for name in kinds}
    bare_imports = own["ours"][1]
    add("| %d fresh imports, group enabled (finder active) | <= +0.5 %% | %s (%s per import) | %s | **%s** | **%s** | %s |" % (
        (IMPORTS, "{:,}".format(bare_imports), "{:,}".format(bare_imports // IMPORTS))
        + tuple(pct(own[name][0], bare_imports) for name in kinds)))
    missing = {name: import_overhead(results, name, "missing") for name in kinds}
    bare_missing = missing["ours"][1]
    add("| %d failing imports (`ModuleNotFoundError`), group enabled — not a budget | — | %s (%s per import) | %s | **%s** | **%s** | %s |" % (
        (IMPORTS, "{:,}".format(bare_missing), "{:,}".format(bare_missing // IMPORTS))
        + tuple(pct(missing[name][0], bare_missing) for name in kinds)))
    add("")
    add("Raw counts: " + ", ".join("%s %s" % (label, "{:,}".format(value)) for label, value in sorted(results.items())))
    add("")
    add("Native against fallback, enabled startup: the fallback costs %s more instructions than the native module "
        "(%s against %s over bare)." % (
            "{:,}".format(results["fallback:enabled"] - results["ours:enabled"]),
            "{:,}".format(results["fallback:enabled"] - bare_enabled),
            "{:,}".format(results["ours:enabled"] - bare_enabled)))
    add("")
    if wall:
        add("### Wall-clock (median, %s, %d runs) and peak RSS (median), ratio to the bare venv" % (wall_tool, args.runs))
        add("")
        add("| case | autowrapt | wrapt-install, `.pth` (native) | wrapt-install, sitecustomize (native) "
            "| wrapt-install, `.pth` (fallback) |")
        add("| --- | --- | --- | --- | --- |")
        for case in ("idle", "enabled"):
            for measured, what, unit, scale in ((wall, "time", "ms", 1000), (memory, "peak RSS", "MiB", 1 / 1024)):
                if measured is None:
                    continue
                base = measured["bare:" + case]
                fallback = ratio(measured["fallback:enabled"], base) if case == "enabled" else "—"
                add("| %s, %s (bare %.1f %s) | %s | %s | %s | %s |" % (
                    case, what, base * scale, unit, ratio(measured["autowrapt:" + case], base),
                    ratio(measured["ours:" + case], base), ratio(measured["sitecustomize:" + case], base), fallback))
        add("")
    if scaling:
        add("### Enabled startup as distributions grow (instructions over bare)")
        add("")
        add("| distributions | bare | autowrapt | wrapt-install, `.pth` (native) | wrapt-install, sitecustomize (native) "
            "| wrapt-install, `.pth` (fallback) |")
        add("| --- | --- | --- | --- | --- | --- |")
        for row in scaling:
            add("| %d | %s | %s | %s | %s | %s |" % (
                row["dists"], "{:,}".format(row["bare"]), pct(row["autowrapt"], row["bare"]),
                pct(row["ours"], row["bare"]), pct(row["sitecustomize"], row["bare"]), pct(row["fallback"], row["bare"])))
        add("")
    if install:
        add("### Install time into a fresh venv (median of %d; wheels local, no network)" % args.install_runs)
        add("")
        add("| wrapt-install | pip install autowrapt==2.0.0 | ratio |")
        add("| --- | --- | --- |")
        add("| %.0f ms | %.0f ms | %.2fx |" % (
            install["wrapt-install"] * 1000, install["pip install autowrapt"] * 1000,
            install["wrapt-install"] / install["pip install autowrapt"]))
        add("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", type=Path, default=Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
                        if Path("/root/.pyenv/versions/3.12.1/bin/python3.12").exists() else Path(shutil.which("python3.12") or "python3"))
    parser.add_argument("--dists", type=int, default=200)
    parser.add_argument("--scaling", type=lambda text: [int(x) for x in text.split(",")], default=[50, 200, 1000, 5000])
    parser.add_argument("--no-scaling", action="store_const", dest="scaling", const=[])
    parser.add_argument("--no-wall", action="store_true", help="skip wall-clock and memory")
    parser.add_argument("--no-install", action="store_true", help="skip install timing")
    parser.add_argument("--no-hyperfine", action="store_true", help="time with the built-in loop")
    parser.add_argument("--runs", type=int, default=60, help="wall-clock runs per command")
    parser.add_argument("--callgrind-runs", type=int, default=1,
                        help="callgrind runs per case, the minimum is kept (counts vary by ~0.01 %%)")
    parser.add_argument("--install-runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=ROOT / "target" / "bench")
    parser.add_argument("--wrapt-install", type=Path, help="use this binary instead of building one")
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args()
    args.command_line = " ".join(["python3", "benches/startup.py"] + sys.argv[1:])
    args.python = args.python.resolve() if args.python.is_absolute() else Path(shutil.which(str(args.python)))
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")

    if args.wrapt_install is None:
        log("cargo build --release")
        run(["cargo", "build", "--release", "--bin", "wrapt-install"], cwd=ROOT)
        args.wrapt_install = ROOT / "target" / "release" / "wrapt-install"
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    wheels = download_wheels(args)
    venvs = make_venvs(args, wheels)
    for venv in venvs.values():
        set_distributions(venv.site(), args.dists)
    script = import_fixture(args.workdir / "imports")
    # Bytecode for the import fixture, so each venv measures importing, not compiling.
    run([args.python, "-m", "compileall", "-q", script.parent / "modules"])

    results, cases = measure_startup(args, venvs, script)
    wall = memory = wall_tool = None
    if not args.no_wall:
        wall, memory, wall_tool = measure_wall(args, venvs, cases)
    scaling = measure_scaling(args, venvs) if args.scaling else []
    install = None if args.no_install else measure_install(args, wheels)
    text = report(args, results, wall, memory, wall_tool, scaling, install)
    (args.workdir / "results.json").write_text(json.dumps(
        {"instructions": results, "wall": wall, "memory": memory, "scaling": scaling, "install": install}, indent=1))
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
