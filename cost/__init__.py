"""Monthly cost of a stack from its rendered inventory (build/<stack>/resources.json)."""
