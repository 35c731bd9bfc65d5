"""The story engine: which story, if any, a new article belongs to.

Owns the features of an article (copy fingerprints, term profile, embedding), the layers
that match it against stored articles (url, exact, near_copy, same_story) and the indexed
state those layers read and write in PostgreSQL. Called by the store step inside its
transaction; must not decide when or whether an article is stored.
"""
