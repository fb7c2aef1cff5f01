"""The release manifest of the shipped flows: which flow files a release of CallGuide ships, by
content hash.

`flows/manifest.json` travels with the app (and inside the PyInstaller bundle). It is the only
way an app update reaches live calls: `callguide.library.publish.adopt_release` adopts a manifest
the store has not seen yet, once, and never looks at a flow file whose manifest was adopted
already. A shipped file that does not match its manifest entry (edited in place) is never adopted.

Regenerate after changing a shipped flow (the test `tests/library/test_manifest.py` fails until
you do):

    python -m callguide.library.manifest            # write flows/manifest.json
    python -m callguide.library.manifest --check    # exit 1 when it is out of date

Never imports Qt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from callguide import paths

FORMAT = "callguide-flows-manifest/1"
FILE_NAME = "manifest.json"


class ManifestError(Exception):
    """The manifest cannot be read or does not describe the folder (one plain line)."""


@dataclass(frozen=True)
class ShippedFlow:
    file: str
    id: str
    version: str
    sha256: str
    review_needed: bool


@dataclass(frozen=True)
class Manifest:
    release: str
    flows: tuple[ShippedFlow, ...]
    path: Path | None = None

    @property
    def digest(self) -> str:
        """What identifies this release's flows: the sha256 of the canonical manifest content."""
        body = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def as_dict(self) -> dict:
        return {"format": FORMAT, "release": self.release,
                "flows": [{"file": f.file, "id": f.id, "version": f.version, "sha256": f.sha256,
                           "review_needed": f.review_needed} for f in self.flows]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"


def app_release() -> str:
    try:
        from importlib.metadata import version

        return version("callguide")
    except Exception:  # noqa: BLE001 - a frozen bundle without metadata
        return "unknown"


def build_manifest(folder: str | Path | None = None, release: str | None = None) -> Manifest:
    """The manifest the flow files in `folder` (default: the shipped flows) should have."""
    from callguide.flow.loader import find_flow_files, load_flow
    from callguide.library.publish import read_flow_text
    from callguide.store.publications import text_hash

    folder = Path(folder) if folder else paths.flows_dir()
    out: list[ShippedFlow] = []
    for f in find_flow_files([folder]):
        flow, diags = load_flow(f)
        if flow is None:
            raise ManifestError(f"{diags[0] if diags else f}: a shipped flow must load")
        out.append(ShippedFlow(f.relative_to(folder).as_posix(), flow.id, flow.version,
                               text_hash(read_flow_text(f)), bool(flow.review_needed)))
    return Manifest(release or app_release(), tuple(out))


def read_manifest(folder: str | Path | None = None) -> Manifest | None:
    """The manifest shipped in `folder` (None when the folder has none: not a release)."""
    folder = Path(folder) if folder else paths.flows_dir()
    p = folder / FILE_NAME
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{p}: cannot be read ({e})") from None
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ManifestError(f"{p}: not a {FORMAT} file")
        flows = tuple(ShippedFlow(str(f["file"]), str(f["id"]), str(f["version"]), str(f["sha256"]),
                                  bool(f.get("review_needed"))) for f in data["flows"])
        return Manifest(str(data["release"]), flows, p)
    except ManifestError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ManifestError(f"{p}: damaged release manifest ({e})") from None


def manifest_problems(folder: str | Path | None = None) -> list[str]:
    """How the shipped files and their manifest disagree (empty: they agree)."""
    folder = Path(folder) if folder else paths.flows_dir()
    try:
        shipped = read_manifest(folder)
    except ManifestError as e:
        return [str(e)]
    if shipped is None:
        return [f"{folder / FILE_NAME}: missing"]
    want = build_manifest(folder, shipped.release)
    have = {f.file: f for f in shipped.flows}
    now = {f.file: f for f in want.flows}
    out = []
    for name in sorted(set(have) | set(now)):
        a, b = have.get(name), now.get(name)
        if a is None:
            out.append(f"{name}: not in the manifest")
        elif b is None:
            out.append(f"{name}: in the manifest but not shipped")
        elif a != b:
            out.append(f"{name}: the file differs from its manifest entry ({a.version} {a.sha256[:12]} in the "
                       f"manifest, {b.version} {b.sha256[:12]} on disk)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m callguide.library.manifest",
                                 description="Write (or check) the release manifest of the shipped flows.")
    ap.add_argument("folder", nargs="?", help="flows folder (default: the shipped flows)")
    ap.add_argument("--check", action="store_true", help="exit 1 when the manifest is out of date")
    ap.add_argument("--release", help="release label (default: the package version)")
    args = ap.parse_args(argv)
    folder = Path(args.folder) if args.folder else paths.flows_dir()
    if args.check:
        problems = manifest_problems(folder)
        for p in problems:
            print(p, file=sys.stderr)
        print("ok: the manifest matches the shipped flows" if not problems else
              f"{len(problems)} difference(s); run `python -m callguide.library.manifest`", file=sys.stderr)
        return 1 if problems else 0
    try:
        m = build_manifest(folder, args.release)
    except ManifestError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 2
    (folder / FILE_NAME).write_text(m.to_json(), encoding="utf-8")
    print(f"wrote {folder / FILE_NAME}: release {m.release}, {len(m.flows)} flow(s), digest {m.digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
