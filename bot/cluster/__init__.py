"""Where cluster data comes from: snapshots, dumps, the demo cluster, the live API."""
