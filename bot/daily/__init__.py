"""The daily work of ``exchbot serve``: a small scheduler (:mod:`bot.daily.scheduler`) and the two
jobs it runs (:mod:`bot.daily.jobs`): re-check the watchlist, then post the digest. Built by
:func:`bot.wiring.make_daily_scheduler`."""
