"""The Celery side of togglbridge: the app, its queues and tasks, and the beat schedule."""
