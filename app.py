"""Entry point: ``flask --app app ...`` and ``gunicorn app:app``."""

import gc

# Loading the app makes some 160.000 objects and no garbage: a collection meanwhile only walks
# them again (bench/bench_report_cold.py measures a cold start). What loading made is then
# frozen out of later collections for the process's life (a forked worker shares its pages).
gc.disable()
try:
    from helpdesk import create_app

    app = create_app()
finally:
    gc.enable()
gc.freeze()
