"""The server: the application factory and its worker processes."""
