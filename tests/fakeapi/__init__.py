"""A fake Kubernetes API server for tests: real HTTP on 127.0.0.1, standard library only.

It behaves like the real API server where clusterbot, the kubernetes Python client and kubectl
depend on it: discovery, list with selectors and limit/continue, watch with resourceVersion,
bookmarks and 410 Gone, create/update/patch/delete with `Status` errors, delete preconditions,
pod logs, Table and metadata-only responses, and injected faults. `server.FakeKubeAPI` is the
test-side API; `resources.RESOURCES` lists what is served.

Not modelled (add it when a test needs it): authentication (any token works), admission and
schema validation, defaulting, server-side apply and dry-run, OpenAPI (`/openapi/v2|v3` are 404:
`kubectl apply` needs `--validate=false`, `kubectl explain` fails), aggregated discovery,
protobuf, graceful deletion (pods go at once; only finalizers delay a delete), namespace
existence on create and namespace deletion cascading, `follow`/`sinceSeconds`/`timestamps` on
logs, `sendInitialEvents` watches, Table columns for kinds other than pods (NAME and AGE only).
"""

from .resources import RESOURCES, Resource
from .server import FakeKubeAPI, Request, RequestLog
from .status import ApiError

__all__ = ["RESOURCES", "ApiError", "FakeKubeAPI", "Request", "RequestLog", "Resource"]
