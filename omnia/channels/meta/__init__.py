"""What WhatsApp Cloud and Instagram share: Meta's webhook signature and handshake, the Graph API client."""
