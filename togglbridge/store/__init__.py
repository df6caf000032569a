"""Everything togglbridge keeps in Redis, and the Redis server itself when it is embedded."""


def text(value: object) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else str(value)
