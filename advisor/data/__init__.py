"""The catalog's records, their validation and cache, device and runtime tables, detection."""
