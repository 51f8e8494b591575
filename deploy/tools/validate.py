"""Validates every manifest deploy/kubernetes renders to, offline, and prints one line per resource.

- Kubernetes kinds: against the schemas `kubernetes-validate` bundles (strict: an unknown field
  is an error).
- Linkerd's policy kinds: against the JSON schemas in deploy/schemas/linkerd (no package ships
  Linkerd's CRD schemas).
- Istio's kinds: against the models `cloudcoil-models-istio` generates from Istio's CRDs, plus a
  round trip that must keep every field (those models would otherwise drop an unknown one).
- Then what no schema knows: every ConfigMap and Secret a pod mounts or reads exists, every
  Linkerd and Istio reference names a resource that exists, and probes and Services name ports
  the container has.

    python deploy/tools/validate.py deploy/kubernetes   # exit 1 on the first kind of failure
"""

import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import referencing
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from render import load_documents, render  # noqa: E402

# The oldest Kubernetes the manifests support (native gRPC probes are GA from 1.27) and the newest.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
LINKERD_SCHEMAS = {
    ("policy.linkerd.io/v1beta3", "Server"): "server-v1beta3.json",
    ("policy.linkerd.io/v1beta3", "HTTPRoute"): "httproute-v1beta3.json",
    ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy"): "authorizationpolicy-v1alpha1.json",
    ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication"): "meshtlsauthentication-v1alpha1.json",
    ("policy.linkerd.io/v1alpha1", "NetworkAuthentication"): "networkauthentication-v1alpha1.json",
}


def linkerd_validator(schemas, api_version, kind):
    registry = referencing.Registry().with_resources(
        (f"linkerd/{path.name}", referencing.Resource.from_contents(json.loads(path.read_text())))
        for path in (schemas / "linkerd").glob("*.json")
    )
    schema = json.loads((schemas / "linkerd" / LINKERD_SCHEMAS[(api_version, kind)]).read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def istio_model(api_version, kind):
    group, version = api_version.split("/")
    package = {"security.istio.io": "security", "networking.istio.io": "networking"}[group]
    module = __import__(f"cloudcoil.models.istio.{package}.{version}", fromlist=[kind])
    return getattr(module, kind)


def without_empty(value):
    """Drops empty maps and lists a model adds or a round trip leaves, for the comparison."""
    if isinstance(value, dict):
        cleaned = {key: without_empty(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in ({}, [], None)}
    if isinstance(value, list):
        return [without_empty(item) for item in value]
    return value


def validate_istio(resource):
    model = istio_model(resource["apiVersion"], resource["kind"])
    parsed = model.model_validate(resource)
    again = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    if without_empty(again) != without_empty(resource):
        raise ValueError(f"fields the Istio schema does not know were dropped: {json.dumps(again)}")
    return "istio schema (cloudcoil-models-istio)"


def validate_resource(resource, schemas):
    """Validates one resource; returns what it was checked against, or raises."""
    api_version, kind = resource["apiVersion"], resource["kind"]
    if (api_version, kind) in LINKERD_SCHEMAS:
        errors = sorted(linkerd_validator(schemas, api_version, kind).iter_errors(resource), key=str)
        if errors:
            raise ValueError("; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors))
        return "linkerd schema (deploy/schemas)"
    if ".istio.io/" in api_version:
        return validate_istio(resource)
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(resource, version, strict=True)
    return f"kubernetes {' and '.join(KUBERNETES_VERSIONS)} schemas, strict"


def index(resources):
    return {(resource["kind"], resource["metadata"]["name"]) for resource in resources}


def cross_references(resources):
    """Returns what no schema checks: references between the resources of one rendering."""
    names = index(resources)
    problems = []
    for resource in resources:
        kind, name, spec = resource["kind"], resource["metadata"]["name"], resource.get("spec", {})
        if kind == "Deployment":
            pod = spec["template"]["spec"]
            for volume in pod.get("volumes", []):
                if "configMap" in volume and ("ConfigMap", volume["configMap"]["name"]) not in names:
                    problems.append(f"Deployment {name}: volume {volume['name']} names a missing ConfigMap")
                if "secret" in volume and ("Secret", volume["secret"]["secretName"]) not in names:
                    problems.append(f"Deployment {name}: volume {volume['name']} names a missing Secret")
            for container in pod["containers"]:
                ports = {port["containerPort"] for port in container.get("ports", [])}
                ports |= {port["name"] for port in container.get("ports", [])}
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    grpc = container.get(probe, {}).get("grpc")
                    if grpc and grpc["port"] not in ports:
                        problems.append(f"Deployment {name}: {probe} asks port {grpc['port']}, not a container port")
                for variable in container.get("env", []):
                    secret = variable.get("valueFrom", {}).get("secretKeyRef")
                    if secret and ("Secret", secret["name"]) not in names:
                        problems.append(f"Deployment {name}: {variable['name']} reads a missing Secret")
        if kind == "AuthorizationPolicy" and resource["apiVersion"].startswith("policy.linkerd.io"):
            references = [spec["targetRef"], *spec["requiredAuthenticationRefs"]]
            for reference in references:
                if (reference["kind"], reference["name"]) not in names:
                    problems.append(f"AuthorizationPolicy {name}: {reference['kind']} {reference['name']} is missing")
        if kind == "HTTPRoute":
            for parent in spec.get("parentRefs", []):
                if (parent.get("kind", "Gateway"), parent["name"]) not in names:
                    problems.append(f"HTTPRoute {name}: parent {parent['name']} is missing")
    return problems


def main():
    root = pathlib.Path(sys.argv[1])
    schemas = root.parent / "schemas"
    example_secret = load_documents(root / "base" / "secret.example.yaml")
    renderings = {"base": render(root / "base")}
    for overlay in sorted((root / "overlays").iterdir()):
        renderings[f"overlays/{overlay.name}"] = render(overlay)
    passed = failed = 0
    for label, resources in renderings.items():
        for resource in resources + (example_secret if label == "base" else []):
            line = f"{label} {resource['apiVersion']} {resource['kind']} {resource['metadata']['name']}"
            try:
                against = validate_resource(resource, schemas)
                passed += 1
                print(f"ok    {line} ({against})")
            except Exception as error:  # every failure is reported, then counted
                failed += 1
                print(f"FAIL  {line}: {str(error).splitlines()[0][:400]}")
        for problem in cross_references(resources + example_secret):
            failed += 1
            print(f"FAIL  {label}: {problem}")
        if not cross_references(resources + example_secret):
            passed += 1
            print(f"ok    {label}: references between resources resolve")
    print(f"manifests: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
