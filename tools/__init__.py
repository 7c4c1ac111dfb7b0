"""Command-line tools: the local launcher (`make run`), topology declaration, token minting."""
