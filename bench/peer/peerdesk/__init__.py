"""A minimal Django project that serves django-helpdesk (from PyPI) for the benchmark."""
