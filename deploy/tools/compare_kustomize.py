"""Compares deploy/tools/render.py's rendering of each overlay with `kubectl kustomize`'s, where
kubectl is installed: the two must hold the same resources with the same content."""

import pathlib
import subprocess
import sys

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from render import render  # noqa: E402


def keyed(resources):
    return {(r["apiVersion"], r["kind"], r["metadata"]["name"]): r for r in resources}


def main():
    root = pathlib.Path(sys.argv[1])
    failed = 0
    for directory in [root / "base", *sorted((root / "overlays").iterdir())]:
        theirs = subprocess.run(["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True)
        ours = keyed(render(directory))
        kubectl = keyed(document for document in yaml.safe_load_all(theirs.stdout) if document)
        different = sorted(str(key) for key in ours.keys() | kubectl.keys() if ours.get(key) != kubectl.get(key))
        label = directory.relative_to(root)
        if different:
            failed += 1
            print(f"FAIL  {label}: render.py and kubectl kustomize differ on {', '.join(different)}")
        else:
            print(f"ok    {label}: render.py matches kubectl kustomize ({len(ours)} resources)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
