"""Where nodes live: network namespaces (netns), containers (docker), machines (ssh).

Every runtime gives each node the same small interface (runtimes/base.py), so
nemeses work on every runtime or are refused up front with a clear message.
"""
