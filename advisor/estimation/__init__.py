"""Memory, speed, serving, drafts and fine-tuning: pure functions over the catalog."""
