"""Request and response bodies of the API, a module per router."""
