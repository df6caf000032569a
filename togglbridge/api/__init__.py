"""The ASGI app: receivers, chat endpoints, health, metrics and the journal."""
