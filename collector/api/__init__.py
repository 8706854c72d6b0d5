"""FastAPI application and its routers."""
