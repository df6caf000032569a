"""Everything togglbridge keeps in Redis, and the Redis server itself when it is embedded."""
