"""The HTTP surface of a node: the aiohttp app, error answers, and one module of handlers per API area the official client uses."""
