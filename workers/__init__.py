"""Service-task handlers, one module per area of the regulations, and the worker loop."""
