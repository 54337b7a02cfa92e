"""Chat adapters and the platform-neutral request/reply they share."""
