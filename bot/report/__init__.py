"""Reports: the view model and its renderers (text, Markdown, HTML, JSON, Block Kit)."""
