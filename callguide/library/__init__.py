"""Flow library management around the core: which versions are live, publishing,
semantic diffs, practice cases. Never imports Qt."""
