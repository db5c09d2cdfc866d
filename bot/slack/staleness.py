"""The staleness warning for Slack answers, from the deps' catalog, clock and settings."""

from __future__ import annotations

from bot.core.staleness import staleness
from bot.slack.deps import SlackDeps


def knowledge_warning(deps: SlackDeps) -> str | None:
    return staleness(deps.catalog.data_date, deps.clock.now().date(), deps.settings.knowledge_max_age_days).warning
