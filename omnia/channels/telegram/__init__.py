"""Telegram Bot API connector: webhook with a secret-token header, sendMessage, getFile (channels.md §1)."""
