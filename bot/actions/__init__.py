"""Remediation: the fixes clusterbot offers, and the only code that changes the cluster.

A finding's `Proposal` becomes an `ActionPlan` (planner.py): a dry-run description, the exact
objects (namespace, name, uid) and a signed, expiring token (tokens.py) that any replica can
verify. Confirming a token (executor.py) verifies it, authorises the user (authz.py), claims it
once across replicas (claims.py), runs the action with delete preconditions (pods.py, jobs.py,
workloads.py) and audits every attempt (audit.py). Read-only helpers (readonly.py) show logs
and describe objects without confirmation. Every API call goes through kubeapi.py.
"""
