"""Web chat: the embeddable site widget, talking to Omnia over a WebSocket."""
