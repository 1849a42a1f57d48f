"""wgp_bridge: keeps WanGP loaded on one GPU and speaks JSON lines to the Node worker (see PROTOCOL.md)."""

__version__ = "0.1.0"
