"""Flywheel project package: settings, urls, Celery app, WSGI/ASGI entrypoints."""
from config.celery import app as celery_app

__all__ = ["celery_app"]
