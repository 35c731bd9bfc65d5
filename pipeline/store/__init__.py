"""Storage: the database, its schema, and the store step.

Owns where the database is (`DATABASE_URL` or the embedded PostgreSQL: `db`, `embedded`),
the schema (`migrations` of sql/), the queue of articles between collecting and storing
(`staging`: staged and failed articles), and the store step that moves staged articles into
stories and articles in serialised batches, quarantining a row the database refuses
(`store_step`). The story engine decides which story; this package writes the rows. Must
not fetch anything.
"""
