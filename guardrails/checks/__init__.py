"""Built-in checks, one per module; loaded on demand through the registry."""
