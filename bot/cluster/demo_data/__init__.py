"""The demo cluster's parts: its vocabulary (`model`), its data (`pi_k3s`) and the builders that
turn the data into Kubernetes API objects (`objects`). `bot.cluster.demo` puts them together.
"""
