"""The Slack app (Bolt): slash commands, buttons and the App Home over the same services as the CLI.

``app.build_app(deps)`` builds the Bolt app; ``http_server`` serves it over HTTP (waitress) and
``serve_cmd`` runs it in Socket Mode or HTTP mode. Listeners live in ``commands_*.py``,
``actions.py`` and ``home.py``; they parse (``parse.py``), gate and acknowledge (``pipeline.py``)
and hand the work to the app's own bounded executor (``workers.py``). Messages are built by the pure
renderers in :mod:`bot.render.blocks`.
"""
