"""Incoming events → use cases. The feedback service keeps the directory read model (staff,
branches, service points) to check the references readers give; nothing else is consumed."""
from shared.directory_view import DIRECTORY_HANDLERS

HANDLERS = {**DIRECTORY_HANDLERS}
