"""The servicers: request → use case arguments, use case call, result → response."""
