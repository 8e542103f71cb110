"""WhatsApp Business Cloud API (Meta Graph API): channels.md §2."""
