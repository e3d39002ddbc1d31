"""Read models over the business records (no HTTP here)."""
