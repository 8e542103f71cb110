"""Instagram Messaging (Instagram API with Facebook or Instagram Login): channels.md §3."""
