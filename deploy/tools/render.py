"""Renders a kustomization the way `kubectl kustomize` does, for the subset deploy/kubernetes uses.

No kubectl or kustomize binary is needed in CI, so this holds only what the manifests here use:
`resources` (files and directories), `namespace`, `images`, and `patches` given by `path` as
strategic-merge patches (matched by kind and name). Anything else in a kustomization is an error,
never silently ignored. Where kubectl is installed, deploy/check compares the two renderings.

    python deploy/tools/render.py deploy/kubernetes/overlays/istio   # prints the YAML stream
"""

import copy
import pathlib
import sys

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}

# Kinds that have no namespace (none used here yet; listed so the namespace is never set on one).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}

# The strategic-merge key of each list field the manifests patch; other lists are replaced whole.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


def load_documents(path):
    """Returns the YAML documents of a file, without empty ones."""
    with open(path, encoding="utf-8") as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def merge_key(field, items):
    """Returns the merge key of a list field, or None when the list is replaced whole."""
    if field == "ports":
        return "containerPort" if any("containerPort" in item for item in items) else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(base, patch, field=None):
    """Merges `patch` into `base` as a strategic-merge patch does for the fields used here."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value, key) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        key = merge_key(field, base + patch)
        if key is None or not all(isinstance(item, dict) and key in item for item in base + patch):
            return copy.deepcopy(patch)
        merged = [copy.deepcopy(item) for item in base]
        added = []
        for item in patch:
            match = next((index for index, existing in enumerate(merged) if existing[key] == item[key]), None)
            if match is None:
                added.append(copy.deepcopy(item))
            else:
                merged[match] = strategic_merge(merged[match], item, None)
        # kustomize puts the patch's new items first.
        return added + merged
    return copy.deepcopy(patch)


def set_images(resource, images):
    """Rewrites container images named in the kustomization's `images`."""
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name = container.get("image", "").split(":")[0]
        for image in images:
            if image["name"] == name:
                container["image"] = f'{image.get("newName", name)}:{image["newTag"]}'


def render(directory):
    """Returns the resources a kustomization directory renders to, in the order they appear."""
    directory = pathlib.Path(directory)
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise SystemExit(f"{directory}/kustomization.yaml: unsupported keys {sorted(unknown)}")
    resources = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        resources += render(path) if path.is_dir() else load_documents(path)
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise SystemExit(f"{directory}: only `patches: - path: FILE` is supported, not {patch_entry}")
        for patch in load_documents(directory / patch_entry["path"]):
            targets = [
                index
                for index, resource in enumerate(resources)
                if resource["kind"] == patch["kind"] and resource["metadata"]["name"] == patch["metadata"]["name"]
            ]
            if len(targets) != 1:
                raise SystemExit(f"{directory}/{patch_entry['path']}: matches {len(targets)} resources, not 1")
            resources[targets[0]] = strategic_merge(resources[targets[0]], patch)
    for resource in resources:
        if "namespace" in kustomization and resource["kind"] not in CLUSTER_SCOPED:
            resource.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
        set_images(resource, kustomization.get("images", []))
    return resources


def main():
    resources = render(sys.argv[1])
    sys.stdout.write(yaml.safe_dump_all(resources, sort_keys=False))


if __name__ == "__main__":
    main()
