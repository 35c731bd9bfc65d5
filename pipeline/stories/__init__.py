"""Story dedup: article profiles (profile) and same-story scoring (similarity)."""
