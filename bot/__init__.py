"""clusterbot: a ChatOps bot for small Kubernetes clusters."""
