"""Pinned dependencies: constraints.txt pins an exact version of every distribution medpipeline[dev]
needs, transitive ones included, names no index or host, and the environment setup.sh built (the
one the tests run in) has exactly those versions; the SDK majors are bounded in pyproject.toml."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            found[canonicalize_name(name)] = version
    return found


def needed(name: str, extras: frozenset[str] = frozenset(), seen: set[str] | None = None):
    """Every distribution `name` (with `extras`) requires here, transitively."""
    seen = set() if seen is None else seen
    for text in metadata.distribution(name).requires or []:
        requirement = Requirement(text)
        environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        marker = requirement.marker
        if marker and not any(marker.evaluate(env) for env in environments):
            continue
        key = canonicalize_name(requirement.name)
        if key not in seen:
            seen.add(key)
            needed(requirement.name, frozenset(requirement.extras), seen)
    return seen


def test_constraints_pin_every_needed_distribution_at_the_installed_version():
    pinned = pins()
    required = needed("medpipeline", frozenset({"dev"}))
    assert required, "medpipeline is installed"
    assert sorted(required - pinned.keys()) == []
    installed = {name: metadata.version(name) for name in required}
    assert {name: pinned[name] for name in required} == installed


def test_constraints_name_no_index_or_host():
    text = (ROOT / "constraints.txt").read_text()
    assert "://" not in text
    assert not re.search(r"^\s*-", text, re.MULTILINE), "no pip options (--index-url, -f, ...)"


def test_sdk_majors_are_bounded():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for sdk in ("anthropic", "openai"):
        (requirement,) = [Requirement(d) for d in dependencies if Requirement(d).name == sdk]
        specifier: SpecifierSet = requirement.specifier
        pinned = Version(pins()[sdk])
        assert pinned in specifier
        assert Version(f"{pinned.major + 1}.0") not in specifier, f"{sdk}: next major excluded"
