"""Storage: the database, its schema, and the store step.

Owns where the database is (`DATABASE_URL` or the embedded PostgreSQL) and how to connect
(`db`), applying the migrations of sql/ (`db.migrate`), and the store step that moves staged
articles into stories and articles in serialised batches (`store_step`). The story engine
decides which story; this package writes the rows. Knows nothing of HTTP or feeds.
"""
