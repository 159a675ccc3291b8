"""One module per sheet; each exposes ``write(ctx)``."""
